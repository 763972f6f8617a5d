"""The two-person rule at the doors without a console: the CLI's publish and the beat's tick
(which also releases feed-ingested and embargoed posts) create the alert held, and the engine's
start leaves it unsent until a second editor approves; with the rule off nothing is held."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.campaigns import approval, service
from newsletter.campaigns.models import Campaign, CampaignStatus
from newsletter.content.alerts import publish_with_alert, release_due_alerts
from newsletter.content.service import publish_post
from newsletter.db import utcnow
from newsletter.staff.models import AuditLogEntry
from tests.conftest import make_test_settings
from tests.content.helpers import press_release, seed_readers


def test_cli_and_tick_alerts_wait_for_a_second_editor(
    tmp_path: Path, db_session: Session, pg_url: str
) -> None:
    settings = make_test_settings(tmp_path, database_url=pg_url, two_person_rule=True)
    seed_readers(db_session, "press-releases", ["a@example.org", "b@example.org"])
    by_cli = press_release(db_session)
    (cli_alert,) = publish_with_alert(settings, db_session, by_cli, utcnow())  # the CLI's call
    by_feed = press_release(db_session)
    publish_post(by_feed, now=utcnow())  # as feed ingestion does; the tick alerts it
    db_session.flush()
    assert release_due_alerts(settings, db_session, utcnow())  # the tick's call
    alerts = db_session.scalars(select(Campaign).order_by(Campaign.id)).all()
    assert len(alerts) == 2 and all(approval.is_awaiting(c) for c in alerts)
    for campaign in alerts:  # a start task for it (the CLI sends one) sends nothing
        assert service.start_campaign(db_session, campaign.id, settings=settings).ranges == []
        assert campaign.status == CampaignStatus.DRAFT and campaign.total_count == 0
    requests = db_session.scalars(
        select(AuditLogEntry).where(AuditLogEntry.action == "campaign.approval_request")
    ).all()
    assert {r.object_id for r in requests} == {str(c.id) for c in alerts}
    assert cli_alert == alerts[0].id

    off = make_test_settings(tmp_path, database_url=pg_url)  # the rule switched off
    started = service.start_campaign(db_session, alerts[0].id, settings=off)
    assert alerts[0].status == CampaignStatus.SENDING and started.ranges
