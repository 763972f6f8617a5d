"""The console's use case for the mail branding: validate, save, audit, refresh the look.

Why refusals and not silent fixes: a colour that is not ``#rrggbb`` would be written into every
mail's CSS, and a logo that is not a small PNG, JPEG or GIF (an SVG can reference remote
content; a large image weighs down every message) must not reach supporters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from newsletter.db import utcnow
from newsletter.i18n import gettext as _
from newsletter.rendering.branding import (
    COLOUR,
    MAX_LOGO_BYTES,
    MailBranding,
    branding_row,
    forget_cached_looks,
    logo_type_of,
)
from newsletter.staff.audit import Actor, record


class BrandingRefused(ValueError):
    """The form cannot be saved; the text (translated) says why."""


@dataclass(frozen=True)
class BrandingInput:
    names: Mapping[str, str]
    primary_colour: str
    link_colour: str
    postal_address: str
    allow_remote_images: bool
    logo: bytes | None = None  # a new upload; None keeps the current logo
    remove_logo: bool = False


def save_branding(session: Session, actor: Actor, given: BrandingInput) -> MailBranding:
    """Save the one branding row (created on first save); audited with what changed."""
    for colour in (given.primary_colour, given.link_colour):
        if not COLOUR.match(colour.strip()):
            raise BrandingRefused(_("Colours must be written as #rrggbb, for example #1d3c34."))
    logo_type = None
    if given.logo:
        if len(given.logo) > MAX_LOGO_BYTES:
            raise BrandingRefused(_("The logo must be smaller than 100 KB."))
        logo_type = logo_type_of(given.logo)
        if logo_type is None:
            raise BrandingRefused(_("The logo must be a PNG, JPEG or GIF image."))
    row = branding_row(session)
    if row is None:
        row = MailBranding(names={}, logo_type="")
        session.add(row)
    before_remote = bool(row.allow_remote_images)
    row.names = {lang: " ".join(name.split())[:200] for lang, name in given.names.items() if name}
    row.primary_colour = given.primary_colour.strip().lower()
    row.link_colour = given.link_colour.strip().lower()
    row.postal_address = "\n".join(
        " ".join(line.split()) for line in given.postal_address.splitlines() if line.strip()
    )[:1000]
    row.allow_remote_images = given.allow_remote_images
    if given.remove_logo:
        row.logo, row.logo_type = None, ""
    elif given.logo and logo_type:
        row.logo, row.logo_type = given.logo, logo_type
    row.updated_at = utcnow()
    row.updated_by_id = actor.staff_user_id
    session.flush()
    record(
        session,
        actor,
        "branding.save",
        object_type="mail_branding",
        object_id=row.id,
        detail={
            "allow_remote_images": row.allow_remote_images,
            "remote_images_changed": before_remote != row.allow_remote_images,
            "logo": "removed" if given.remove_logo else ("replaced" if given.logo else "kept"),
        },
    )
    forget_cached_looks()
    return row
