"""The discreet and low-bandwidth editions, end to end: real Celery workers, Redis,
PostgreSQL and an SMTP server on loopback. A discreet reader's alert, digest, confirmation
and event mail have no HTML part, neutral From, subject and List-Id, and no URL but the
alternative address's; a normal reader's are unchanged; a low-bandwidth digest stays small.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from newsletter.content.alerts import publish_with_alert
from newsletter.content.models import Post, PostKind
from newsletter.content.service import TranslationInput, create_post, publish_post
from newsletter.db import utcnow
from newsletter.registrations import service as registrations
from newsletter.registrations.models import RegistrationMessage
from newsletter.subscribers.models import Subscriber
from newsletter.web.app import create_app
from tests.conftest import REDIS_FIXTURE_DB, REDIS_HOST_URL, clock_offset_to, make_test_settings
from tests.content.helpers import seed_readers, stays
from tests.discreet.helpers import (
    ALT,
    NEUTRAL,
    ORG,
    assert_discreet,
    body_text,
    content_types,
    display_name,
    list_id_name,
)
from tests.registrations.helpers import JOIN_URL, calendar_of, online_webinar
from tests.sending.helpers import add_list

pytestmark = pytest.mark.slow
TITLE = "Mining code: the assembly votes on Thursday"
SUMMARY = "Three articles would let companies expel whole villages."
BODY = (
    "The reform comes before the assembly on Thursday.\n\n"
    "[The draft, annotated](https://partner-ngo.example.net/draft.pdf) and "
    "[our earlier analysis](http://127.0.0.1:8000/archive?lang=en)."
)
RELEASE = [
    TranslationInput("en", TITLE, SUMMARY, BODY),
    TranslationInput("fr", "Code minier : l'assemblée vote jeudi", "Trois articles.", "Le vote."),
]


def _flag(session, addresses: list[str], **values: bool) -> None:
    session.execute(update(Subscriber).where(Subscriber.email.in_(addresses)).values(**values))


def _by_recipient(messages) -> dict:
    return {m.rcpt_tos[0]: m for m in messages}


def test_an_alert_reaches_discreet_light_and_normal_readers_each_in_their_edition(
    fleet_factory, committed_db, smtp_server
) -> None:
    fleet = fleet_factory(workers=1, **NEUTRAL)
    readers = ["plain@example.org", "hidden@example.org", "light@example.org", "cache@example.org"]
    with committed_db.begin() as session:
        seed_readers(session, "press-releases", readers, languages=("en", "en", "en", "fr"))
        _flag(session, ["hidden@example.org", "cache@example.org"], discreet=True)
        _flag(session, ["light@example.org"], low_bandwidth=True)
        post = create_post(
            session, kind=PostKind.PRESS_RELEASE, translations=RELEASE, languages=["en", "fr"]
        )
        ids = publish_with_alert(fleet.settings, session, post, utcnow())
    fleet.app.send_task("newsletter.start_campaign", args=ids)
    got = _by_recipient(smtp_server.wait_for(4, timeout=30))

    hidden = got["hidden@example.org"]
    assert_discreet(hidden.message, "This week in the garden", "Garden club", TITLE)
    text = body_text(hidden.message)
    assert TITLE in text and SUMMARY in text  # the content is all there, in plain text
    assert "partner-ngo.example.net" not in text and "[link left out]" in text
    assert f"{ALT}/archive?lang=en" in text  # our own link, moved to the alternative address
    assert "127.0.0.1:8000" not in hidden.data.decode()
    assert str(hidden.message["From"]).endswith("<letters@garden-notes.example.net>")
    french = got["cache@example.org"].message
    assert_discreet(french, "Cette semaine au jardin", "Club du jardin", RELEASE[1].title)

    plain = got["plain@example.org"].message  # unchanged: HTML, the organisation's name
    assert content_types(plain) == ["multipart/alternative", "text/plain", "text/html"]
    assert str(plain["Subject"]) == f"Press release: {TITLE}"
    assert display_name(plain["From"]) == ORG and list_id_name(plain) == ORG
    assert plain["Reply-To"] == "desk@kivu-rights.example.org"
    assert "partner-ngo.example.net" in body_text(plain)
    assert "http://127.0.0.1:8000/unsubscribe/" in str(plain["List-Unsubscribe"])

    light = got["light@example.org"]
    assert content_types(light.message) == ["text/plain"]
    assert str(light.message["Subject"]) == f"Press release: {TITLE}"  # not discreet
    assert TITLE in body_text(light.message) and SUMMARY not in body_text(light.message)
    assert len(light.data) < 10_000


OCTOBER = dt.datetime(2026, 10, 5, 10, 0, tzinfo=dt.UTC)
DIGEST_DUE = dt.datetime(2026, 11, 1, 0, 30, tzinfo=dt.UTC)


@pytest.mark.date_sensitive
def test_a_low_bandwidth_digest_is_headlines_under_ten_kilobytes(
    fleet_factory, committed_db, smtp_server
) -> None:
    fleet = fleet_factory(
        workers=1, digest_day=1, digest_hour=0,
        clock_offset_seconds=clock_offset_to(DIGEST_DUE), **NEUTRAL,
    )  # fmt: skip
    readers = ["full@example.org", "slow@example.org", "both@example.org"]
    long_body = "The monitors walked from one site to the next and wrote down what they saw. " * 40
    with committed_db.begin() as session:
        seed_readers(session, "monthly-digest", readers, languages=("en",))
        _flag(session, ["slow@example.org", "both@example.org"], low_bandwidth=True)
        _flag(session, ["both@example.org"], discreet=True)
        for day in range(24):
            post = create_post(
                session,
                kind=PostKind.STATEMENT,
                translations=[TranslationInput("en", f"Site visit {day + 1}", "Notes.", long_body)],
                languages=["en"],
            )
            publish_post(post, at=OCTOBER + dt.timedelta(days=day), now=OCTOBER)
    assert len(fleet.app.send_task("newsletter.content_tick").get(timeout=30)) == 1
    got = _by_recipient(smtp_server.wait_for(3, timeout=30))
    full, slow, both = (got[address] for address in readers)
    assert "text/html" in content_types(full.message) and len(full.data) > 10_000
    assert content_types(slow.message) == ["text/plain"] and len(slow.data) < 10_000
    for day in range(24):
        assert f"Site visit {day + 1}" in body_text(slow.message)
    assert "The monitors walked" not in body_text(slow.message)
    assert str(slow.message["Subject"]).startswith(ORG)  # its own digest subject
    assert_discreet(both.message, "This week in the garden", "Garden club")
    assert len(both.data) < 10_000


def test_a_discreet_sign_up_gets_a_discreet_confirmation_with_its_link_at_the_mirror(
    tmp_path, pg_url, committed_db, smtp_server, redis_client
) -> None:
    settings = make_test_settings(
        tmp_path, database_url=pg_url, smtp_url=smtp_server.url, min_fill_seconds=0,
        redis_url=f"{REDIS_HOST_URL}/{REDIS_FIXTURE_DB}", **NEUTRAL,
    )  # fmt: skip
    with committed_db.begin() as session:
        add_list(session, "press-releases")
    app = create_app(settings)
    with TestClient(app) as http:
        for address, extra in [
            ("quiet@example.org", {"discreet": "yes"}),
            ("open@example.org", {}),
        ]:
            page = http.get("/subscribe")
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
            stamp = re.search(r'name="form_stamp" value="([^"]+)"', page.text).group(1)
            data = {"csrf_token": token, "form_stamp": stamp, "email": address}
            answer = http.post("/subscribe", data=data | {"lists": "press-releases"} | extra)
            assert answer.status_code == 200
    got = _by_recipient(smtp_server.wait_for(2, timeout=20))
    quiet = got["quiet@example.org"].message
    assert_discreet(quiet, str(quiet["Subject"]), "Garden club", list_mail=False)
    assert str(quiet["Subject"]) == "Please confirm your subscription to Garden club"
    assert f"{ALT}/confirm/" in body_text(quiet)
    opened = got["open@example.org"].message
    assert "text/html" in content_types(opened) and ORG in str(opened["Subject"])
    with committed_db() as session:
        flags = dict(session.execute(select(Subscriber.email, Subscriber.discreet)).all())
    assert flags == {"quiet@example.org": True, "open@example.org": False}
    app.state.engine.dispose()


def test_a_discreet_subscribers_event_registration_mail_is_discreet_too(
    fleet_factory, committed_db, smtp_server
) -> None:
    start = dt.datetime(2027, 3, 9, 14, 0, tzinfo=dt.UTC)
    now = start - dt.timedelta(days=3)
    fleet = fleet_factory(workers=1, clock_offset_seconds=clock_offset_to(now), **NEUTRAL)
    with committed_db.begin() as session:
        seed_readers(session, "events", ["guarded@example.org"], languages=("en",))
        _flag(session, ["guarded@example.org"], discreet=True)
        post = online_webinar(session, start, now)
        for email in ("guarded@example.org", "visitor@example.org"):
            given = registrations.RegistrationInput(email, "R", "en", "America/Lima")
            registrations.register(session, post, given, now)
        ids = list(session.scalars(select(RegistrationMessage.id)))
        title = session.get(Post, post.id).translations[0].title
    fleet.app.send_task("newsletter.send_event_messages", args=[ids])
    got = _by_recipient(smtp_server.wait_for(2, timeout=30))
    assert stays(lambda: len(smtp_server.messages) == 2, 1.0)
    guarded = got["guarded@example.org"].message
    assert content_types(guarded) == ["multipart/mixed", "text/plain", "text/calendar"]
    assert str(guarded["Subject"]) == "This week in the garden"
    assert display_name(guarded["From"]) == "Garden club" and title not in str(guarded["Subject"])
    text = body_text(guarded)
    assert JOIN_URL not in text and f"{ALT}/events/registration/" in text
    assert all(url.startswith(ALT) for url in re.findall(r"https?://\S+", text))
    event = calendar_of(guarded).walk("VEVENT")[0]
    assert event.decoded("dtstart") == start  # the calendar file still works
    manage = re.search(rf"{re.escape(ALT)}(/events/registration/\S+)", text).group(1)
    page_app = create_app(
        make_test_settings(fleet.log_dir / "web", database_url=fleet.settings.database_url)
    )
    with TestClient(page_app, base_url=ALT) as http:  # the mirror serves this same app
        assert JOIN_URL in http.get(manage).text  # the registrant's page holds the link
    page_app.state.engine.dispose()
    visitor = got["visitor@example.org"].message
    assert "text/html" in content_types(visitor) and JOIN_URL in body_text(visitor)
    assert title in str(visitor["Subject"])
