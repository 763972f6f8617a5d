"""Journey emails through the real SMTP test server; export and erasure on PostgreSQL."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, inspect, select, text

from newsletter.abuse.ratelimit import MemoryRateLimiter
from newsletter.delivery.outcomes import Outcome
from newsletter.links import UnsubscribeScope, parse_unsubscribe_token
from newsletter.subscribers import notifications, service
from newsletter.subscribers.addresses import address_hash
from newsletter.subscribers.data_rights import erase, export_data
from newsletter.subscribers.models import (
    Subscriber,
    SubscriberStatus,
    SubscriberStatusChange,
    Subscription,
    Suppression,
)
from newsletter.subscribers.status import is_suppressed
from tests.conftest import make_test_settings
from tests.subscribers.test_service import add_lists, sign_up


def body(message, subtype: str) -> str:
    return message.get_body((subtype,)).get_content()


@pytest.mark.parametrize(
    ("language", "subject_word", "button"),
    [
        ("en", "confirm", "Confirm my subscription"),
        ("fr", "confirmer", "Confirmer mon abonnement"),
    ],
)
def test_confirmation_email_in_the_persons_language_with_a_working_link(
    db_session, tmp_path, smtp_server, language, subject_word, button
):
    settings = make_test_settings(tmp_path, smtp_url=smtp_server.url)
    add_lists(db_session)
    outcome = service.subscribe(
        db_session, settings, sign_up(language=language, name="Zoé <b>"), MemoryRateLimiter()
    )
    result = notifications.send_journey_email(
        settings, db_session, "confirm", outcome.subscriber_id
    )
    assert result.outcome is Outcome.SENT
    [received] = smtp_server.wait_for(1)
    message = received.message
    assert received.rcpt_tos == ("ada@example.org",)
    assert subject_word in message["Subject"].lower()
    assert "List-Unsubscribe" not in message  # not subscribed yet
    html, plain = body(message, "html"), body(message, "plain")
    assert button in html
    assert "Zoé &lt;b&gt;" in html and "<b>" not in html.split("<body")[1].split("</p>")[0]
    assert 'style="' in html  # premailer inlined the CSS
    [link] = re.findall(r"http://127\.0\.0\.1:8000/confirm/\S+", plain)
    token = link.rsplit("/", 1)[1]
    assert service.confirm(db_session, settings, token).email == "welcome"


def test_welcome_email_carries_list_unsubscribe_headers(db_session, tmp_path, smtp_server):
    settings = make_test_settings(tmp_path, smtp_url=smtp_server.url)
    add_lists(db_session)
    outcome = service.subscribe(db_session, settings, sign_up(), MemoryRateLimiter())
    subscriber = db_session.get(Subscriber, outcome.subscriber_id)
    service.confirm(db_session, settings, service.confirm_token(settings, subscriber))
    notifications.send_journey_email(settings, db_session, "welcome", subscriber.id)
    [received] = smtp_server.wait_for(1)
    header = received.message["List-Unsubscribe"]
    assert received.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    https, mailto = re.findall(r"<([^>]+)>", header)
    assert https.startswith("http://127.0.0.1:8000/unsubscribe/")
    assert mailto.startswith("mailto:unsubscribe+")
    scope = parse_unsubscribe_token(settings, https.rsplit("/", 1)[1])
    assert scope == UnsubscribeScope(subscriber.public_id)
    assert https in body(received.message, "plain")


def test_render_is_cached_per_kind_and_language_not_per_message(db_session, tmp_path, smtp_server):
    settings = make_test_settings(tmp_path, smtp_url=smtp_server.url)
    add_lists(db_session)
    notifications.cached_render.cache_clear()
    limiter = MemoryRateLimiter()
    for n in range(3):
        outcome = service.subscribe(db_session, settings, sign_up(f"p{n}@example.org"), limiter)
        notifications.send_journey_email(settings, db_session, "confirm", outcome.subscriber_id)
    info = notifications.cached_render.cache_info()
    assert (info.misses, info.hits) == (1, 2)
    assert len({m.message["To"] for m in smtp_server.wait_for(3)}) == 3


def test_deferred_send_is_handed_over_not_lost(db_session, tmp_path, smtp_server):
    settings = make_test_settings(tmp_path, smtp_url=smtp_server.url)
    add_lists(db_session)
    outcome = service.subscribe(db_session, settings, sign_up(), MemoryRateLimiter())
    smtp_server.fail_next(1)
    queued: list[tuple[str, int]] = []
    result = notifications.send_or_hand_over(
        settings,
        db_session,
        "confirm",
        outcome.subscriber_id,
        lambda kind, sid: queued.append((kind, sid)),
    )
    assert result.outcome is Outcome.DEFERRED
    assert queued == [("confirm", outcome.subscriber_id)]


def test_no_email_once_the_person_has_left(db_session, tmp_path, smtp_server):
    settings = make_test_settings(tmp_path, smtp_url=smtp_server.url)
    add_lists(db_session)
    outcome = service.subscribe(db_session, settings, sign_up(), MemoryRateLimiter())
    subscriber = db_session.get(Subscriber, outcome.subscriber_id)
    service.unsubscribe(db_session, UnsubscribeScope(subscriber.public_id), "link", "subscriber")
    assert notifications.send_journey_email(settings, db_session, "confirm", subscriber.id) is None
    assert smtp_server.messages == []


def test_export_contains_the_persons_data_as_json(db_session, tmp_path):
    settings = make_test_settings(tmp_path)
    add_lists(db_session)
    outcome = service.subscribe(db_session, settings, sign_up(), MemoryRateLimiter())
    subscriber = db_session.get(Subscriber, outcome.subscriber_id)
    data = json.loads(json.dumps(export_data(db_session, subscriber)))
    assert data["email"] == "ada@example.org"
    assert data["consent"]["consent_text_version"] == "2026-11"
    assert data["subscriptions"][0]["list"] == "press"
    assert data["history"][0]["to"] == "pending"


def test_erasure_leaves_no_personal_data_and_suppresses_the_address(db_session, tmp_path):
    settings = make_test_settings(tmp_path)
    add_lists(db_session)
    outcome = service.subscribe(
        db_session, settings, sign_up(name="Ada Lovelace"), MemoryRateLimiter()
    )
    subscriber = db_session.get(Subscriber, outcome.subscriber_id)
    old_public_id = subscriber.public_id
    erase(db_session, subscriber)
    db_session.flush()
    assert is_suppressed(db_session, "ada@example.org")
    assert db_session.scalar(select(Suppression.address_hash)) == address_hash("ada@example.org")
    assert subscriber.status == SubscriberStatus.ERASED
    assert db_session.scalar(select(func.count()).select_from(Subscription)) == 0
    history = db_session.scalars(select(SubscriberStatusChange)).all()
    assert [(h.from_status, h.to_status) for h in history] == [("pending", "erased")]
    # No column of any table holds the address, the name or the consent IP any more.
    for table in inspect(db_session.bind).get_table_names():
        dump = db_session.execute(text(f'SELECT * FROM "{table}"')).all()
        flat = " ".join(str(value) for row in dump for value in row)
        assert "ada@example.org" not in flat.lower(), table
        assert "Lovelace" not in flat, table
        assert "203.0.113" not in flat, table
        assert old_public_id not in flat, table
    again = service.subscribe(db_session, settings, sign_up(), MemoryRateLimiter())
    assert again == service.JourneyOutcome(None, None)
