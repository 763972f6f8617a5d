"""Campaign rates, the suppression list and audited lifting."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from newsletter.bounces.models import BounceKind
from newsletter.bounces.policy import record_bounce
from newsletter.bounces.visibility import (
    LiftRefused,
    campaign_rates,
    events_needing_review,
    lift_suppression,
    suppressed_addresses,
)
from newsletter.bounces.warnings import open_warnings, resolve_warning
from newsletter.i18n import using_language
from newsletter.staff.models import AuditLogEntry
from newsletter.subscribers.models import SubscriberStatus, SuppressionReason
from newsletter.subscribers.status import is_suppressed, suppress_address
from tests.bounces.factories import make_campaign, make_delivery, make_subscriber
from tests.conftest import make_test_settings


@pytest.fixture
def settings(tmp_path: Path):
    return make_test_settings(tmp_path)


def test_campaign_rates_count_bounces_and_complaints(any_db_session, settings) -> None:
    campaign = make_campaign(any_db_session)
    deliveries = [
        make_delivery(
            any_db_session, campaign, make_subscriber(any_db_session, f"r{i}@example.org")
        )
        for i in range(10)
    ]
    for n, kind in enumerate([BounceKind.HARD, BounceKind.HARD, BounceKind.COMPLAINT]):
        record_bounce(
            any_db_session, source="t", source_event_id=str(n), kind=kind, diagnostic="",
            delivery_id=deliveries[n].id, settings=settings,
        )  # fmt: skip
    rates = campaign_rates(any_db_session, campaign.id, settings)
    assert (rates.sent, rates.bounced, rates.hard, rates.complaints) == (10, 2, 2, 1)
    assert rates.bounce_rate == pytest.approx(0.2)
    assert rates.complaint_rate == pytest.approx(0.1)
    assert rates.complaints_too_high and rates.bounces_too_high
    kinds = sorted(str(w.kind) for w in open_warnings(any_db_session))
    assert kinds == ["bounce_rate", "complaint_rate"]  # checked when the complaint came
    for warning in open_warnings(any_db_session):
        assert resolve_warning(any_db_session, warning.id)
    assert open_warnings(any_db_session) == []


def test_suppression_list_shows_reasons_and_lifting_is_audited(any_db_session, settings) -> None:
    subscriber = make_subscriber(any_db_session, "back@example.org")
    record_bounce(
        any_db_session, source="t", source_event_id="b", kind=BounceKind.HARD, diagnostic="",
        address="back@example.org", settings=settings,
    )  # fmt: skip
    suppress_address(any_db_session, "stranger@example.net", SuppressionReason.STAFF, "staff")
    entries = {e.address: e for e in suppressed_addresses(any_db_session)}
    assert set(entries) == {"back@example.org", None}
    assert entries["back@example.org"].reason == "hard_bounce"
    with pytest.raises(LiftRefused):
        lift_suppression(any_db_session, entries["back@example.org"].suppression_id, reason=" ")
    lift_suppression(
        any_db_session, entries["back@example.org"].suppression_id,
        reason="person confirmed by phone that the mailbox works again", actor_id=7,
    )  # fmt: skip
    assert not is_suppressed(any_db_session, "back@example.org")
    assert subscriber.status == SubscriberStatus.ACTIVE
    entry = any_db_session.scalar(select(AuditLogEntry))
    assert entry.action == "suppression.lift" and entry.actor_id == 7
    assert entry.object_id == str(subscriber.id)
    assert "phone" in entry.detail["reason"]
    assert "back@example.org" not in str(entry.detail)


def test_an_erasure_suppression_cannot_be_lifted_and_the_refusal_is_translated(
    any_db_session,
) -> None:
    suppression = suppress_address(any_db_session, "gone@example.net", SuppressionReason.ERASED)
    with pytest.raises(LiftRefused, match="asked to be erased"):
        lift_suppression(any_db_session, suppression.id, reason="mistake, please")
    with using_language("fr"), pytest.raises(LiftRefused, match="demandé l’effacement"):
        lift_suppression(any_db_session, suppression.id, reason="mistake, please")


def test_unattributable_events_are_listed_for_review(any_db_session, settings) -> None:
    record_bounce(
        any_db_session, source="t", source_event_id="lost", kind=BounceKind.HARD,
        diagnostic="550 5.1.1", settings=settings,
    )  # fmt: skip
    [event] = events_needing_review(any_db_session)
    assert event.source_event_id == "lost"
