"""How every mail looks, set in the console: organisation name per language, two colours, the
footer's postal address, a logo carried inside the message, and the remote-images switch.

Why no Jinja for this: staff should not have to edit a template to put their name, colours and
postal address (which anti-spam laws such as CAN-SPAM require) on every message. The layout
(``templates/email/_base/base.*``) reads one ``brand`` value; this module builds it.

The logo is a small raster image stored in the database and written into the message as a
``data:`` URI: nothing is fetched when the reader opens the mail (invariant
`privacy-by-default`). SVG is refused (it can itself reference remote content).

``allow_remote_images`` is the admin's explicit opt-in: campaign bodies and templates may then
keep ``<img src="https://...">`` (see `sanitiser`); it is off by default, and system mail
(confirmations, welcomes, registrations, press briefings) never carries a remote image.

Builders that hold a session read the row (`look_from_session`); the others use `look_for`,
cached a few seconds per process and dropped at once in the process that saves.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import logging
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, LargeBinary, String, Text, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.pool import NullPool

from newsletter.config import Settings
from newsletter.db import Base, make_engine, make_session_factory, utcnow

log = logging.getLogger(__name__)

DEFAULT_PRIMARY = "#1d3c34"
DEFAULT_LINK = "#0b5d8f"
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
#: Image types a mail client shows inline, by their first bytes (never trust a file's name).
LOGO_TYPES = {
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"GIF87a": "image/gif",
    b"GIF89a": "image/gif",
}
MAX_LOGO_BYTES = 100_000
CACHE_SECONDS = 5.0


class MailBranding(Base):
    """The one row of the organisation's mail branding (id 1); absent means the defaults."""

    __tablename__ = "mail_branding"

    id: Mapped[int] = mapped_column(primary_key=True)
    names: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    primary_colour: Mapped[str] = mapped_column(String(7), default=DEFAULT_PRIMARY)
    link_colour: Mapped[str] = mapped_column(String(7), default=DEFAULT_LINK)
    postal_address: Mapped[str] = mapped_column(Text, default="")
    logo: Mapped[bytes | None] = mapped_column(LargeBinary)
    logo_type: Mapped[str] = mapped_column(String(32), default="")
    allow_remote_images: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )


def logo_type_of(data: bytes) -> str | None:
    """The MIME type of a PNG, JPEG or GIF by its signature; None for anything else."""
    for signature, mime_type in LOGO_TYPES.items():
        if data.startswith(signature):
            return mime_type
    return None


@dataclass(frozen=True)
class MailLook:
    """What the layout needs, immutable and hashable (render caches key on it)."""

    fallback_name: str
    names: tuple[tuple[str, str], ...] = ()
    primary: str = DEFAULT_PRIMARY
    link: str = DEFAULT_LINK
    postal_address: str = ""
    logo_data_uri: str = ""
    allow_remote_images: bool = False

    def name(self, language: str) -> str:
        """The organisation's name in ``language``, else the configured ``ORG_NAME``."""
        return dict(self.names).get(language, "").strip() or self.fallback_name

    def brand(self, language: str) -> dict[str, Any]:
        """The ``brand`` value the email layout reads."""
        return {
            "name": self.name(language),
            "primary": self.primary,
            "link": self.link,
            "address_lines": [line for line in self.postal_address.splitlines() if line.strip()],
            "logo": self.logo_data_uri,
        }


def default_look(settings: Settings) -> MailLook:
    return MailLook(fallback_name=settings.org_name)


def look_of(row: MailBranding | None, settings: Settings) -> MailLook:
    if row is None:
        return default_look(settings)
    logo = ""
    if row.logo and row.logo_type in LOGO_TYPES.values():
        logo = f"data:{row.logo_type};base64,{base64.b64encode(row.logo).decode('ascii')}"
    return MailLook(
        fallback_name=settings.org_name,
        names=tuple(sorted((str(k), str(v)) for k, v in (row.names or {}).items())),
        primary=row.primary_colour if COLOUR.match(row.primary_colour or "") else DEFAULT_PRIMARY,
        link=row.link_colour if COLOUR.match(row.link_colour or "") else DEFAULT_LINK,
        postal_address=row.postal_address or "",
        logo_data_uri=logo,
        allow_remote_images=bool(row.allow_remote_images),
    )


def branding_row(session: Session) -> MailBranding | None:
    return session.scalar(select(MailBranding).order_by(MailBranding.id).limit(1))


def look_from_session(session: Session | None, settings: Settings) -> MailLook:
    """The current look, read through ``session`` (defaults without one)."""
    if session is None:
        return look_for(settings)
    return look_of(branding_row(session), settings)


_cache: dict[str, tuple[float, MailLook]] = {}
_lock = threading.Lock()


@functools.cache
def _engine(database_url: str) -> Any:
    # NullPool: no idle connection kept (tests drop their databases; a web process forks).
    return make_session_factory(make_engine(database_url, poolclass=NullPool))


def look_for(settings: Settings) -> MailLook:
    """The current look for builders without a session, cached ``CACHE_SECONDS`` per process."""
    now = time.monotonic()
    key = settings.database_url
    with _lock:
        cached = _cache.get(key)
    if cached is not None and now - cached[0] < CACHE_SECONDS:
        return cached[1]
    try:
        with _engine(key)() as session:
            look = look_of(branding_row(session), settings)
    except SQLAlchemyError as exc:  # no table yet (before migrations) or no database
        log.warning("mail branding unavailable, using the defaults: %s", type(exc).__name__)
        look = default_look(settings)
    with _lock:
        _cache[key] = (now, look)
    return look


def forget_cached_looks() -> None:
    """Called after a save, so this process's next mail uses the new look at once."""
    with _lock:
        _cache.clear()
