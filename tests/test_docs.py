"""The README stays short and every link between the manuals lands somewhere.

The README is the front door (what it is, the two commands, where to read next, the developer
section); the manuals live in ``docs/``. A link to a file or a heading that was renamed is a
dead end for the next reader, so each one is resolved here the way GitHub renders anchors.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MANUALS = ("architecture.md", "operators.md", "staff.md", "api.md")
LINK = re.compile(r"\]\(((?!https?:)[^)\s#]*)(?:#([^)\s]+))?\)")


def _anchors(path: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces become hyphens."""
    anchors, in_code = set(), False
    for line in path.read_text("utf-8").splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and re.match(r"#{1,6} ", line):
            title = line.lstrip("#").strip().lower()
            anchors.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return anchors


def _documents() -> list[Path]:
    return [README] + [ROOT / "docs" / name for name in MANUALS]


def test_the_readme_is_short_and_points_at_every_manual() -> None:
    text = README.read_text("utf-8")
    assert len(text.splitlines()) <= 150
    for command in ("scripts/run", "scripts/test", "scripts/test-moved-clock"):
        assert command in text
    for name in MANUALS:
        assert f"(docs/{name}" in text, f"the README does not point at docs/{name}"


def test_every_manual_exists_and_has_content() -> None:
    for path in _documents():
        assert len(path.read_text("utf-8").splitlines()) > 40, path


def test_every_relative_link_lands_on_a_file_and_a_heading() -> None:
    dead = []
    for document in _documents():
        for target, anchor in LINK.findall(document.read_text("utf-8")):
            path = (document.parent / target).resolve() if target else document
            if not path.exists():
                dead.append(f"{document.name}: {target}")
            elif anchor and anchor not in _anchors(path):
                dead.append(f"{document.name}: {target}#{anchor}")
    assert not dead


def test_the_anchor_rule_is_githubs() -> None:
    path = ROOT / "docs" / "api.md"
    assert "for-websites-the-embedded-form-and-the-sign-up-api" in _anchors(path)
    assert "the-rest-api" in _anchors(path)


def _documented_metrics() -> set[str]:
    """Metric names in the first column of docs/operators.md's metric table."""
    text = (ROOT / "docs" / "operators.md").read_text("utf-8")
    names: set[str] = set()
    for row in re.findall(r"^\| (`newsletter_[^|]+)\|", text, flags=re.MULTILINE):
        names |= set(re.findall(r"`(newsletter_[a-z_]+)`", row))
    return names


def test_the_operators_metric_table_names_exactly_the_metrics_the_service_exposes() -> None:
    from tests.observability.test_monitoring_files import exposed_names

    exposed = {name for name in exposed_names() if not name.endswith(("_bucket", "_sum", "_count"))}
    exposed |= {
        name.removesuffix("_bucket") for name in exposed_names() if name.endswith("_bucket")
    }
    documented = _documented_metrics()
    assert len(documented) >= 15
    assert documented == exposed
