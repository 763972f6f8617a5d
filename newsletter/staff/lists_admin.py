"""Creating and editing lists (topics), with a name and description per language."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.staff import audit
from newsletter.subscribers.models import MailingList, MailingListTranslation

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


class ListRefused(ValueError):
    """The list cannot be saved; the text says why."""


def save_list(
    db: Session,
    actor: audit.Actor,
    *,
    mailing_list: MailingList | None,
    slug: str,
    is_public: bool,
    texts: dict[str, tuple[str, str]],
    default_language: str,
) -> MailingList:
    """Create (``mailing_list`` None) or update a list; its name in the default language is
    required, the other languages are optional (they fall back to it)."""
    slug = slug.strip().lower()
    if not SLUG.match(slug):
        raise ListRefused("The short name may hold lower-case letters, digits and dashes only.")
    clash = db.scalar(select(MailingList).where(MailingList.slug == slug))
    if clash is not None and clash is not mailing_list:
        raise ListRefused("Another list already has this short name.")
    if not texts.get(default_language, ("", ""))[0].strip():
        raise ListRefused("The list needs a name in the default language.")
    created = mailing_list is None
    if mailing_list is None:
        mailing_list = MailingList(slug=slug)
        db.add(mailing_list)
    mailing_list.slug, mailing_list.is_public = slug, is_public
    existing = {t.language: t for t in mailing_list.translations}
    for language, (name, description) in texts.items():
        name, description = " ".join(name.split())[:200], description.strip()[:1000]
        translation = existing.get(language)
        if not name:
            if translation is not None:
                mailing_list.translations.remove(translation)
            continue
        if translation is None:
            mailing_list.translations.append(
                MailingListTranslation(language=language, name=name, description=description)
            )
        else:
            translation.name, translation.description = name, description
    db.flush()
    audit.record(
        db,
        actor,
        "list.create" if created else "list.update",
        object_type="list",
        object_id=mailing_list.id,
        detail={"slug": slug, "public": is_public},
    )
    return mailing_list
