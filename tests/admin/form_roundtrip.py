"""Submitting a console form the way a browser does, and what the database holds around it.

`browser_fields` reads a page's form and returns exactly what a browser would send when the
staff member presses save without touching anything: text and hidden inputs, checked boxes
and radios, each select's selected option (else its first), textareas with the one leading
newline HTML drops and their line ends sent as CRLF. `database_rows` reads every table, so a
round trip proves that nothing at all changed, not only the fields a test thought of.
"""

from __future__ import annotations

from html.parser import HTMLParser

from sqlalchemy import Engine, select

import newsletter.models  # noqa: F401 - every table registered on the metadata
from newsletter.db import Base

#: Tables a console save may touch without changing what was saved: the audit log records
#: the save itself, and the sign-in session moves its last-seen time.
NOT_CONTENT = frozenset({"audit_log", "staff_sessions"})
#: Columns that record when a row was last written, not what it holds.
BOOKKEEPING = frozenset({"updated_at"})


class _FormReader(HTMLParser):
    def __init__(self, action: str, button: tuple[str, str] | None) -> None:
        super().__init__(convert_charrefs=True)
        self.action, self.button = action, button
        self.inside = False
        self.found = False
        self.fields: list[tuple[str, str]] = []
        self._textarea: str | None = None
        self._text: list[str] = []
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []
        self._option: tuple[str | None, bool] | None = None
        self._option_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self.inside = a.get("action") == self.action
            self.found = self.found or self.inside
            return
        if not self.inside or "disabled" in a:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind in {"submit", "button", "image", "reset", "file"}:
                if self.button == (name, a.get("value", "")):
                    self.fields.append(self.button)
            elif kind in {"checkbox", "radio"}:
                if "checked" in a:
                    self.fields.append((name, a.get("value", "on")))
            else:
                self.fields.append((name, a.get("value", "")))
        elif tag == "button" and name and self.button == (name, a.get("value", "")):
            self.fields.append(self.button)
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []
        elif tag == "select" and name:
            self._select, self._options = name, []
        elif tag == "option" and self._select is not None:
            self._option, self._option_text = (a.get("value"), "selected" in a), []

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text.append(data)
        if self._option is not None:
            self._option_text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "textarea" and self._textarea is not None:
            text = "".join(self._text)
            text = text[1:] if text.startswith("\n") else text
            self.fields.append((self._textarea, text.replace("\r\n", "\n").replace("\n", "\r\n")))
            self._textarea = None
        elif tag == "option" and self._option is not None:
            value, selected = self._option
            text = "".join(self._option_text)
            self._options.append((value if value is not None else text, selected))
            self._option = None
        elif tag == "select" and self._select is not None:
            chosen = [value for value, selected in self._options if selected]
            if chosen or self._options:
                self.fields.append((self._select, (chosen or [self._options[0][0]])[-1]))
            self._select = None


def browser_fields(
    html: str, action: str, button: tuple[str, str] | None = None
) -> list[tuple[str, str]]:
    """The (name, value) pairs a browser submits for the form posting to ``action``."""
    reader = _FormReader(action, button)
    reader.feed(html)
    assert reader.found, f"no form posts to {action}"
    return reader.fields


def database_rows(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every content table, in primary-key order, without bookkeeping columns."""
    rows: dict[str, list[tuple[object, ...]]] = {}
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            if table.name in NOT_CONTENT:
                continue
            columns = [c for c in table.columns if c.name not in BOOKKEEPING]
            query = select(*columns).order_by(*table.primary_key.columns)
            rows[table.name] = [tuple(r) for r in connection.execute(query)]
    return rows


def changed_tables(
    before: dict[str, list[tuple[object, ...]]], after: dict[str, list[tuple[object, ...]]]
) -> dict[str, tuple[list[tuple[object, ...]], list[tuple[object, ...]]]]:
    """The tables whose rows differ, with the rows that went and came (empty when none)."""
    return {
        name: (
            [r for r in before[name] if r not in after[name]],
            [r for r in after[name] if r not in before[name]],
        )
        for name in before
        if before[name] != after[name]
    }
