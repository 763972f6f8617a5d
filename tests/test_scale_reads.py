"""Reads that stay flat: the summary behind the dashboard, capped match counts, the trigram
index serving substring search, and retention folding old deliveries (PostgreSQL and SQLite)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from newsletter.bounces.visibility import campaign_rates
from newsletter.campaigns import service
from newsletter.campaigns.models import CampaignDeliveryTotal, Delivery, DeliveryStatus
from newsletter.campaigns.retention import fold_old_deliveries
from newsletter.staff import summaries
from newsletter.staff.subscriber_search import SubscriberFilter, search_page
from tests.conftest import make_test_settings
from tests.sending.helpers import add_list, add_subscribers, seed_campaign


def test_the_summary_is_what_was_counted_at_refresh_and_says_when(
    any_db_session: Session, tmp_path
) -> None:
    session = any_db_session
    settings = make_test_settings(tmp_path)
    press = add_list(session, "press")
    add_subscribers(session, [f"r{i}@example.org" for i in range(3)], [press.id])
    first = summaries.current(session, settings)  # none stored yet: computed now
    assert first.list_totals == {press.id: 3}
    assert first.by_status == {"active": 3}

    add_subscribers(session, ["late@example.org"], [press.id])
    assert summaries.current(session, settings).list_totals == {press.id: 3}  # stored figures
    later = first.computed_at + dt.timedelta(minutes=5)
    refreshed = summaries.refresh(session, settings, now=later)
    assert refreshed.list_totals == {press.id: 4}
    assert summaries.current(session, settings).computed_at == later
    assert refreshed.age_seconds(later + dt.timedelta(seconds=30)) == 30


def test_match_counts_stop_at_the_cap_and_say_so(any_db_session: Session) -> None:
    session = any_db_session
    add_subscribers(session, [f"martin{i}@example.org" for i in range(7)], [])
    add_subscribers(session, ["other@example.net"], [])
    page = search_page(session, SubscriberFilter(query="MARTIN"), limit=2, count_cap=5)
    assert (page.total, page.capped, len(page.rows)) == (5, True, 2)
    page = search_page(session, SubscriberFilter(query="artin"), limit=50, count_cap=100)
    assert (page.total, page.capped) == (7, False)
    assert {s.email for s in page.rows} == {f"martin{i}@example.org" for i in range(7)}
    literal = search_page(session, SubscriberFilter(query="%"), count_cap=100)
    assert literal.total == 0  # a typed % is a character, not a wildcard


def test_substring_search_is_served_by_the_trigram_index_on_postgresql(
    db_session: Session,
) -> None:
    add_subscribers(db_session, [f"supporter{i}@example.org" for i in range(300)], [])
    db_session.execute(text("ANALYZE subscribers"))
    db_session.execute(text("SET LOCAL enable_seqscan = off"))
    plan = "\n".join(
        db_session.scalars(
            text("EXPLAIN SELECT id FROM subscribers WHERE email ILIKE '%porter12%'")
        )
    )
    assert "ix_subscribers_email_trgm" in plan
    plan = "\n".join(
        db_session.scalars(text("EXPLAIN SELECT id FROM subscribers WHERE name ILIKE '%ader 1%'"))
    )
    assert "ix_subscribers_name_trgm" in plan


def test_retention_folds_old_final_rows_and_the_rates_do_not_change(
    any_db_session: Session, tmp_path
) -> None:
    session = any_db_session
    seeded = seed_campaign(session, 6)
    service.start_campaign(session, seeded.campaign_id, settings=make_test_settings(tmp_path))
    ids = list(session.scalars(select(Delivery.id).order_by(Delivery.id)))
    now = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    old, recent = now - dt.timedelta(days=40), now - dt.timedelta(days=2)
    statuses = [DeliveryStatus.SENT] * 3 + [DeliveryStatus.BOUNCED, DeliveryStatus.DEFERRED]
    for delivery_id, status in zip(ids, statuses, strict=False):
        session.execute(
            update(Delivery).where(Delivery.id == delivery_id).values(status=status, updated_at=old)
        )
    session.execute(  # the last row: sent, but recently
        update(Delivery).where(Delivery.id == ids[-1]).values(status="sent", updated_at=recent)
    )
    before = campaign_rates(session, seeded.campaign_id)
    assert (before.sent, before.bounced) == (5, 1)

    assert fold_old_deliveries(session, retention_days=30, now=now, batch=2) == 2
    assert fold_old_deliveries(session, retention_days=30, now=now) == 2
    assert fold_old_deliveries(session, retention_days=30, now=now) == 0

    left = session.execute(select(Delivery.id, Delivery.status).order_by(Delivery.id)).all()
    # the deferred row is not final and the recent one is young: both stay
    assert [row.id for row in left] == [ids[4], ids[5]]
    totals = dict(
        session.execute(
            select(CampaignDeliveryTotal.status, CampaignDeliveryTotal.count).where(
                CampaignDeliveryTotal.campaign_id == seeded.campaign_id
            )
        ).all()
    )
    assert totals == {DeliveryStatus.SENT: 3, DeliveryStatus.BOUNCED: 1}
    after = campaign_rates(session, seeded.campaign_id)
    assert (after.sent, after.bounced) == (before.sent, before.bounced)
    assert session.scalar(select(func.count()).select_from(Delivery)) == 2
