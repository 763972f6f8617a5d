"""A campaign to several lists: its unsubscribe links leave those lists, not everything.

The campaign is sent by the real pipeline to the real SMTP test server; the links are taken from
the received message and used against the app served over real HTTP (RFC 8058 one-click POST)
and through the inbound mailto path.
"""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy import select

from newsletter.bounces.mailto import unsubscribe_by_mail
from newsletter.campaigns import service
from newsletter.db import unit_of_work
from newsletter.delivery import pipeline
from newsletter.models import (
    Subscriber,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
)
from newsletter.web.app import create_app
from tests.conftest import make_test_settings
from tests.sending.helpers import add_campaign, add_list, add_subscribers


def _lists_of(factory, subscriber_id: int) -> dict[int, SubscriptionStatus]:
    with factory() as session:
        rows = session.execute(
            select(Subscription.list_id, Subscription.status).where(
                Subscription.subscriber_id == subscriber_id
            )
        ).all()
    return dict(rows)


def _send(factory, settings, list_ids: list[int]) -> None:
    with factory() as session, session.begin():
        campaign_id = add_campaign(session, list_ids).id
    with factory() as session, session.begin():
        batches = service.start_campaign(session, campaign_id, settings=settings)
    for first, last in batches.ranges:
        pipeline.send_batch(factory, settings, campaign_id, first, last)


def test_one_click_from_a_campaign_to_a_and_b_leaves_a_and_b_and_keeps_c(
    tmp_path: Path, pg_url: str, committed_db, smtp_server, live_server
) -> None:
    settings = make_test_settings(tmp_path, database_url=pg_url, smtp_url=smtp_server.url)
    app = create_app(settings)
    settings.base_url = live_server(app)  # the links in the email point at this server
    with unit_of_work(committed_db) as session:
        a, b, c = (add_list(session, slug).id for slug in ("press", "events", "digest"))
        [reader, other] = add_subscribers(session, ["ada@example.org", "bo@example.org"], [a, b, c])
    _send(committed_db, settings, [a, b])

    [message] = [m for m in smtp_server.wait_for(2) if m.rcpt_tos == ("ada@example.org",)]
    https, mailto = (
        part.strip().strip("<>") for part in str(message.message["List-Unsubscribe"]).split(",")
    )
    assert https in message.message.get_body(("plain",)).get_content()  # the footer link too
    assert httpx.get(https, timeout=10).status_code == 200  # GET changes nothing (scanners)
    assert set(_lists_of(committed_db, reader).values()) == {SubscriptionStatus.ACTIVE}

    answer = httpx.post(https, data={"List-Unsubscribe": "One-Click"}, timeout=10)
    assert answer.status_code == 200
    assert _lists_of(committed_db, reader) == {
        a: SubscriptionStatus.UNSUBSCRIBED,
        b: SubscriptionStatus.UNSUBSCRIBED,
        c: SubscriptionStatus.ACTIVE,
    }
    with committed_db() as session:
        assert session.get(Subscriber, reader).status is SubscriberStatus.ACTIVE  # still on C

    # The mailto of the same header carries the same scope (the inbound receiver's path).
    [other_message] = [m for m in smtp_server.messages if m.rcpt_tos == ("bo@example.org",)]
    other_mailto = str(other_message.message["List-Unsubscribe"]).split(",")[1].strip(" <>")
    token = other_mailto.removeprefix("mailto:unsubscribe+").split("@")[0]
    assert mailto != other_mailto
    with unit_of_work(committed_db) as session:
        assert unsubscribe_by_mail(session, settings, token) == other
    assert _lists_of(committed_db, other)[c] is SubscriptionStatus.ACTIVE
    assert _lists_of(committed_db, other)[a] is SubscriptionStatus.UNSUBSCRIBED
    app.state.engine.dispose()
