"""Creating and editing lists (topics), with a name and description per language and the
mail each receives (`newsletter.content.routing`); the first-run default lists."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.config import Settings
from newsletter.content.routing import Route, set_routes
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
    settings: Settings,
    routes: set[Route] | None = None,
) -> MailingList:
    """Create (``mailing_list`` None) or update a list; its name in the default language is
    required, the other languages are optional (they fall back to it)."""
    slug = slug.strip().lower()
    if not SLUG.match(slug):
        raise ListRefused("The short name may hold lower-case letters, digits and dashes only.")
    clash = db.scalar(select(MailingList).where(MailingList.slug == slug))
    if clash is not None and clash is not mailing_list:
        raise ListRefused("Another list already has this short name.")
    if not texts.get(settings.default_language, ("", ""))[0].strip():
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
    if routes is not None:
        set_routes(settings, mailing_list, routes)
    db.flush()
    detail: dict[str, object] = {"slug": slug, "public": is_public}
    if routes is not None:
        detail["routes"] = sorted(routes)
    audit.record(
        db,
        actor,
        "list.create" if created else "list.update",
        object_type="list",
        object_id=mailing_list.id,
        detail=detail,
    )
    return mailing_list


# slug, routes, {language: (name, description)}: a coalition's usual topics in both of its
# languages; staff rename or delete them afterwards.
DEFAULT_LISTS: list[tuple[str, set[Route], dict[str, tuple[str, str]]]] = [
    (
        "press-releases",
        {Route.PRESS_RELEASE_ALERTS},
        {
            "en": ("Press releases", "Our press releases, the moment they are public."),
            "fr": ("Communiqués de presse", "Nos communiqués, dès qu’ils sont publics."),
        },
    ),
    (
        "events",
        {Route.EVENT_ALERTS},
        {
            "en": ("Events", "Webinars, meetings and actions, as soon as they are announced."),
            "fr": ("Événements", "Webinaires, réunions et actions, dès leur annonce."),
        },
    ),
    (
        "statements-reports",
        {Route.STATEMENT_ALERTS},
        {
            "en": ("Statements and reports", "Our statements and new reports."),
            "fr": ("Déclarations et rapports", "Nos déclarations et nos nouveaux rapports."),
        },
    ),
    (
        "monthly-digest",
        {Route.DIGEST},
        {
            "en": ("Monthly digest", "Everything we published, once a month."),
            "fr": ("Lettre mensuelle", "Tout ce que nous avons publié, une fois par mois."),
        },
    ),
]


def create_default_lists(db: Session, settings: Settings, actor: audit.Actor) -> list[MailingList]:
    """First run: the default lists, each receiving its mail; only while there is no list at
    all (a second click, or a colleague's, makes nothing)."""
    if db.scalar(select(MailingList.id).limit(1)) is not None:
        return []
    made = []
    for slug, routes, texts in DEFAULT_LISTS:
        wanted = {lang: texts.get(lang, texts["en"]) for lang in settings.languages}
        made.append(
            save_list(
                db,
                actor,
                mailing_list=None,
                slug=slug,
                is_public=True,
                texts=wanted,
                settings=settings,
                routes=routes,
            )
        )
    return made
