"""French done properly: typography in every catalogue entry, event times that name UTC
as UTC and elide before a vowel, and the console's states, kinds and months in French."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.messages.pofile import read_po
from sqlalchemy.orm import Session, sessionmaker

from newsletter import clock
from newsletter.campaigns.models import Campaign, CampaignKind, CampaignStatus, CampaignVariant
from newsletter.config import PROJECT_ROOT
from newsletter.content import service as content
from newsletter.content.events import when_label
from newsletter.content.models import PostKind
from newsletter.db import unit_of_work
from newsletter.i18n import gettext
from newsletter.staff.models import StaffRole
from tests.admin.factories import make_list
from tests.admin.helpers import StaffClient, app_for, make_staff

CATALOGUE = PROJECT_ROOT / "newsletter" / "locale" / "fr" / "LC_MESSAGES" / "messages.po"
#: ``: ; ! ?`` ending a word or a placeholder must follow a no-break space in French.
UNSPACED = re.compile(r"(?<=[^\s\u00a0\u202f])[ ]?[:;!?](?=\s|$)")


def test_every_french_message_puts_a_no_break_space_before_high_punctuation() -> None:
    with CATALOGUE.open("rb") as po:
        catalogue = read_po(po, locale="fr")
    wrong = [
        text
        for message in catalogue
        if message.id
        for text in (message.string if isinstance(message.string, tuple) else (message.string,))
        if text and UNSPACED.search(text)
    ]
    assert wrong == []
    assert gettext("Read it online", "fr") == "Lire en ligne"


def test_event_times_name_utc_as_utc_and_elide_before_a_vowel() -> None:
    date, time = "jeudi 17 décembre 2026", "11:00"
    assert when_label(date, time, ZoneInfo("UTC"), "fr") == f"{date}, {time} (UTC)"
    assert "heure de UTC" not in when_label(date, time, ZoneInfo("Etc/UTC"), "fr")
    assert when_label(date, time, ZoneInfo("Africa/Abidjan"), "fr").endswith("(heure d’Abidjan)")
    assert when_label(date, time, ZoneInfo("Europe/Paris"), "fr").endswith("(heure de Paris)")
    assert when_label("Thursday", time, ZoneInfo("UTC"), "en") == "Thursday, 11:00 (UTC)"


def test_the_console_in_french_translates_states_kinds_and_months(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session]
) -> None:
    with unit_of_work(committed_db) as db:
        members = make_list(db, "members", "Members", "Membres")
        db.add(
            Campaign(
                kind=CampaignKind.NEWSLETTER,
                name="Lettre de décembre",
                status=CampaignStatus.SENT,
                lists=[members],
                variants=[CampaignVariant(language="fr", subject="Décembre")],
            )
        )
        content.create_post(
            db,
            kind=PostKind.PRESS_RELEASE,
            translations=[content.TranslationInput("fr", "Communiqué sur l'eau")],
            languages=["en", "fr"],
        )
    make_staff(committed_db, StaffRole.ADMIN)
    client = StaffClient(app_for(tmp_path, pg_url))
    client.http.cookies.set("nl_lang", "fr")
    client.sign_in("admin@coalition.example.org")
    campaigns = client.get("/admin/campaigns").text
    assert "<td>lettre d’information</td><td>envoyée</td>" in campaigns
    assert "<td>Communiqué de presse" in client.get("/admin/posts").text
    dashboard = client.get("/admin/").text
    assert format_date(clock.now(), "d MMM", locale="fr") in dashboard
    assert format_date(clock.now() - dt.timedelta(weeks=11), "d MMM", locale="en") not in dashboard
    assert "administrateur" in client.get("/admin/staff").text
