"""Translations: gettext catalogs (Babel) for pages, emails and errors.

Catalogs live in ``newsletter/locale/<language>/LC_MESSAGES/messages.po`` and are compiled in
memory when first used, so adding a language is adding a catalog (and listing it in
``LANGUAGES``); no build step, no ``.mo`` files in the tree. The ``.po`` files ship inside the
wheel as package data (newsletter/resources.py), so an installed service translates as the
checkout does.

Templates call ``_()``/``ngettext()`` or use ``{% trans %}``: the Jinja callables read the
language of the render in progress from a context variable that :func:`using_language`
sets, so one cached environment serves every language safely across threads.

Refresh the catalogs after changing strings::

    pybabel extract -F babel.cfg -o newsletter/locale/messages.pot .
    pybabel update -i newsletter/locale/messages.pot -d newsletter/locale
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import io
from collections.abc import Iterator, Sequence

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from newsletter.resources import package_folder

LOCALE_DIR = package_folder("locale")
_current_language: contextvars.ContextVar[str] = contextvars.ContextVar(
    "newsletter_language", default="en"
)


@functools.cache
def translations(language: str) -> NullTranslations:
    """The compiled catalog of one language; English (the source language) may have none."""
    po_path = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if not po_path.is_file():
        return NullTranslations()
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def available_languages() -> list[str]:
    """Languages with a catalog, plus English, the language the strings are written in."""
    found = {path.parent.parent.name for path in LOCALE_DIR.glob("*/LC_MESSAGES/messages.po")}
    return sorted(found | {"en"})


def gettext(message: str, language: str | None = None, /, **variables: object) -> str:
    """``message`` translated into ``language`` (default: the current render's language).

    ``language`` is positional-only, so a message variable may itself be called ``language``
    (``gettext("Written in %(language)s", language="Français")``) without being taken for the
    catalogue.
    """
    text = translations(language or _current_language.get()).gettext(message)
    return text % variables if variables else text


def ngettext(
    singular: str, plural: str, n: int, language: str | None = None, /, **variables: object
) -> str:
    text = translations(language or _current_language.get()).ngettext(singular, plural, n)
    return text % ({"num": n} | variables)


def pgettext(context: str, message: str, language: str | None = None, /) -> str:
    """``message`` translated in ``context`` ("sent" is "envoyée" for a campaign and
    "envoyé" for a message): the catalogue's ``msgctxt`` entries."""
    return str(translations(language or _current_language.get()).pgettext(context, message))


def current_language() -> str:
    return _current_language.get()


@contextlib.contextmanager
def using_language(language: str) -> Iterator[None]:
    """Render (templates, errors) in ``language`` inside this block."""
    token = _current_language.set(language)
    try:
        yield
    finally:
        _current_language.reset(token)


def negotiate_language(accept_language: str | None, supported: Sequence[str], default: str) -> str:
    """The best supported language for an ``Accept-Language`` header, else ``default``."""
    choices: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in supported and quality > 0:
            choices.append((-quality, position, primary))
    return min(choices)[2] if choices else default


def _jinja_gettext(message: str, **variables: object) -> str:
    return gettext(message, **variables)


def _jinja_ngettext(singular: str, plural: str, n: int, **variables: object) -> str:
    return ngettext(singular, plural, n, **variables)


#: Languages whose typography puts a no-break space before ``: ; ! ?`` ("Lire en ligne :").
SPACE_BEFORE_PUNCTUATION = frozenset({"fr"})


def punctuation(mark: str, language: str | None = None) -> str:
    """A ``:`` (``;``, ``!``, ``?``) that follows a translated label in a template, spaced as
    the language wants: a no-break space first in French, so a line never starts with it."""
    spaced = (language or _current_language.get()) in SPACE_BEFORE_PUNCTUATION
    return f"\u00a0{mark}" if spaced else mark


def install_jinja_i18n(environment: object) -> None:
    """Give a Jinja environment ``_``, ``gettext``, ``ngettext``, ``{% trans %}`` and
    ``colon()`` (the ``:`` after a translated label, :func:`punctuation`)."""
    environment.add_extension("jinja2.ext.i18n")  # type: ignore[attr-defined]
    environment.install_gettext_callables(  # type: ignore[attr-defined]
        _jinja_gettext, _jinja_ngettext, newstyle=True
    )
    environment.globals["colon"] = lambda: punctuation(":")  # type: ignore[attr-defined]
