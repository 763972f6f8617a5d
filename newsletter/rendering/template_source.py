"""Which template a campaign is composed from: the shipped files, or the console's latest save.

Why here and not in the Jinja loader: the choice is made once per campaign (and carried in
the composition cache key by its version number), so a worker that has composed a campaign
picks up a template saved since by a new key, never by re-reading the database per recipient.
A saved version is one set of three parts for every language (texts are translated inside
the template through gettext, and the console validates each save in every language), so it
replaces the shipped ``<part>`` and any ``<part>.<language>`` file alike.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.staff.models import EmailTemplateVersion

PARTS = ("subject.txt", "body.txt", "body.html")


@dataclass(frozen=True)
class TemplateSource:
    """A campaign template: ``version`` 0 means the files in ``templates/email/<name>/``."""

    name: str
    version: int = 0
    parts: tuple[tuple[str, str], ...] = ()

    @property
    def overrides(self) -> tuple[tuple[str, str], ...]:
        """Loader entries (``email/<name>/<part>``, source) that shadow the shipped files."""
        return tuple((f"email/{self.name}/{part}", source) for part, source in self.parts)


def latest_version(db: Session, name: str) -> EmailTemplateVersion | None:
    return db.scalar(
        select(EmailTemplateVersion)
        .where(EmailTemplateVersion.name == name)
        .order_by(EmailTemplateVersion.version.desc())
        .limit(1)
    )


def from_version(version: EmailTemplateVersion) -> TemplateSource:
    return TemplateSource(
        name=version.name,
        version=version.version,
        parts=(
            ("subject.txt", version.subject),
            ("body.txt", version.body_text),
            ("body.html", version.body_html),
        ),
    )


def template_source(db: Session | None, name: str) -> TemplateSource:
    """The latest version saved in the console for ``name``, else the shipped files."""
    found = latest_version(db, name) if db is not None else None
    return from_version(found) if found is not None else TemplateSource(name)
