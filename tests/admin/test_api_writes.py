"""The API's post and campaign writes: posts with translations, campaigns created, scheduled,
started, paused and resumed through the console's domain rules, audited, refusals in the
caller's language; resume happens in the request and enqueues the send batches (real Redis
broker), never a queued resume task."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from newsletter.campaigns.models import Campaign, CampaignStatus
from newsletter.content.models import Post
from newsletter.db import unit_of_work
from newsletter.staff.models import ApiToken, AuditLogEntry, StaffRole
from tests.admin.factories import make_list, make_subscriber
from tests.admin.helpers import StaffClient, app_for
from tests.admin.test_api import token_for
from tests.conftest import REDIS_BROKER_DB, REDIS_HOST_URL, _redis

POST = {
    "kind": "press_release",
    "texts": {
        "en": {"title": "Dam report", "summary": "Findings", "body_markdown": "We **found**."},
        "fr": {"title": "Rapport sur le barrage", "body_markdown": "Nous avons **trouvé**."},
    },
    "publish": "now",
}


def test_a_post_is_created_with_its_translations_and_audited(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session]
) -> None:
    reader = token_for(committed_db, StaffRole.EDITOR, ["posts:read"])
    writer = token_for(committed_db, StaffRole.EDITOR, ["posts:read", "posts:write"])
    client = StaffClient(app_for(tmp_path, pg_url)).http

    def post(body: dict, token: str, **headers: str):  # type: ignore[no-untyped-def]
        headers["Authorization"] = f"Bearer {token}"
        return client.post("/api/v1/posts", json=body, headers=headers)

    assert post(POST, reader).status_code == 403
    created = post(POST, writer)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["texts"]["fr"]["title"] == "Rapport sur le barrage"
    assert body["published_at"] is not None
    assert created.headers["location"] == f"/api/v1/posts/{body['id']}"
    fetched = client.get(created.headers["location"], headers={"Authorization": f"Bearer {reader}"})
    assert fetched.json() == body

    event = POST | {"kind": "event", "event": {"start": "2030-05-01T16:00", "timezone": "America"}}
    refused = post(event, writer, **{"Accept-Language": "fr"})
    assert refused.status_code == 400  # a folder of the zone database is not a zone (not a 500)
    assert refused.json()["detail"] == "Fuseau horaire inconnu\u00a0: America"
    held = POST | {"publish": "at"}
    assert post(held, writer).json()["detail"] == "Give a date and time."
    naive = post(POST | {"embargo_until": "2030-05-01T09:00:00"}, writer)
    assert naive.status_code == 422
    with committed_db() as db:
        stored = db.get(Post, body["id"])
        assert stored.created_by_id is not None
        assert "<strong>found</strong>" in stored.translations[0].body_html
        assert db.scalar(select(Post.id).where(Post.id != body["id"])) is None
        (entry,) = db.scalars(select(AuditLogEntry).where(AuditLogEntry.action == "post.create"))
        assert entry.actor_type == "api_token" and entry.object_id == str(body["id"])


@pytest.fixture
def redis_broker() -> Iterator[str]:
    broker = f"{REDIS_HOST_URL}/{REDIS_BROKER_DB}"
    _redis(REDIS_BROKER_DB).flushdb()
    yield broker
    _redis(REDIS_BROKER_DB).flushdb()


def queued_tasks() -> list[tuple[str, list]]:  # type: ignore[type-arg]
    """Task names and arguments waiting in the broker's queues (kombu's Redis lists)."""
    found = []
    for queue in ("send", "default"):
        for raw in _redis(REDIS_BROKER_DB).lrange(queue, 0, -1):
            message = json.loads(raw)
            args = json.loads(base64.b64decode(message["body"]))[0]
            found.append((message["headers"]["task"], args))
    return found


def test_a_campaign_is_created_scheduled_started_paused_and_resumed_in_the_request(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session], redis_broker: str
) -> None:
    with unit_of_work(committed_db) as db:
        press = make_list(db, "press", "Press", "Presse")
        for i in range(5):
            make_subscriber(db, f"r{i}@example.org", lists=[press])
    writer = token_for(committed_db, StaffRole.EDITOR, ["campaigns:read", "campaigns:write"])
    client = StaffClient(app_for(tmp_path, pg_url, broker_url=redis_broker, send_batch_size=2))
    headers = {"Authorization": f"Bearer {writer}"}

    def call(path: str, body: dict | None = None, **extra: str):  # type: ignore[no-untyped-def]
        return client.http.post(path, json=body, headers=headers | extra)

    draft = {
        "name": "May update",
        "lists": ["press"],
        "texts": {"en": {"subject": "May"}, "fr": {"subject": "Mai"}},
    }
    assert call("/api/v1/campaigns", draft | {"lists": ["nope"]}).status_code == 400
    created = call("/api/v1/campaigns", draft)
    assert created.status_code == 201, created.text
    campaign_id = created.json()["id"]
    assert created.json()["status"] == "draft"
    base = f"/api/v1/campaigns/{campaign_id}"
    past = call(
        f"{base}/schedule", {"at": "2001-01-01T09:00:00+01:00"}, **{"Accept-Language": "fr"}
    )
    assert (past.status_code, past.json()["detail"]) == (400, "Cette heure est passée.")
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).isoformat()
    scheduled = call(f"{base}/schedule", {"at": later})
    assert scheduled.status_code == 200 and scheduled.json()["status"] == "scheduled"
    assert call(f"{base}/resume").status_code == 409
    sent = call(f"{base}/send")  # started in the request: sending, with its count
    assert sent.status_code == 200 and sent.json()["status"] == "sending"
    assert [name for name, _args in queued_tasks()] == ["newsletter.send_batch"] * 3
    assert call(f"{base}/send").status_code == 409  # a second send sends nothing more
    _redis(REDIS_BROKER_DB).flushdb()
    assert call(f"{base}/pause").json()["status"] == "paused"
    resumed = call(f"{base}/resume")
    assert resumed.status_code == 200 and resumed.json()["status"] == "sending"
    tasks = queued_tasks()
    assert {name for name, _args in tasks} == {"newsletter.send_batch"}
    assert len(tasks) == 3 and {args[0] for _name, args in tasks} == {campaign_id}  # 5 by 2
    with committed_db() as db:
        assert db.get(Campaign, campaign_id).status == CampaignStatus.SENDING
        actions = db.scalars(
            select(AuditLogEntry.action).where(AuditLogEntry.actor_type == "api_token")
        ).all()
        assert actions == [
            "campaign.create",
            "campaign.schedule",
            "campaign.start",
            "campaign.pause",
            "campaign.resume",
        ]


def test_posts_and_draft_campaigns_are_rewritten_with_put(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session]
) -> None:
    with unit_of_work(committed_db) as db:
        make_list(db, "press", "Press", "Presse")
        make_list(db, "members", "Members", "Membres")
    reader = token_for(committed_db, StaffRole.EDITOR, ["posts:read", "campaigns:read"])
    writer = token_for(
        committed_db, StaffRole.EDITOR, ["posts:read", "posts:write", "campaigns:write"]
    )
    http = StaffClient(app_for(tmp_path, pg_url)).http

    def send(method: str, path: str, body: dict, token: str = writer, **headers: str):  # type: ignore[no-untyped-def]
        headers["Authorization"] = f"Bearer {token}"
        return http.request(method, path, json=body, headers=headers)

    post_id = send("POST", "/api/v1/posts", POST | {"publish": "draft"}).json()["id"]
    rewritten = POST | {"texts": {"en": {"title": "Dam report, corrected"}}, "publish": "draft"}
    assert send("PUT", f"/api/v1/posts/{post_id}", rewritten, reader).status_code == 403
    replaced = send("PUT", f"/api/v1/posts/{post_id}", rewritten)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["texts"]["en"]["title"] == "Dam report, corrected"
    assert replaced.json()["texts"]["fr"]["title"] == "Rapport sur le barrage"  # kept
    assert replaced.json()["published_at"] is None
    assert send("PUT", "/api/v1/posts/999999", rewritten).status_code == 404

    draft = {"name": "June", "lists": ["press"], "texts": {"en": {"subject": "June"}}}
    campaign_id = send("POST", "/api/v1/campaigns", draft).json()["id"]
    base = f"/api/v1/campaigns/{campaign_id}"
    changed = draft | {
        "name": "June update",
        "lists": ["press", "members"],
        "texts": {"en": {"subject": "June news"}, "fr": {"subject": "Nouvelles de juin"}},
    }
    assert send("PUT", base, changed, reader).status_code == 403
    updated = send("PUT", base, changed)
    assert updated.status_code == 200, updated.text
    assert updated.json()["name"] == "June update" and updated.json()["status"] == "draft"
    with committed_db() as db:
        stored = db.get(Campaign, campaign_id)
        (owner,) = set(db.scalars(select(ApiToken.staff_user_id)))  # both tokens' editor
        assert stored.created_by_id == owner  # the token's owner, not the token's id
        assert sorted(m.slug for m in stored.lists) == ["members", "press"]
        assert {v.language: v.subject for v in stored.variants} == {
            "en": "June news",
            "fr": "Nouvelles de juin",
        }
        stored.status = CampaignStatus.SENDING  # it has started: no more rewriting
        db.commit()
    late = send("PUT", base, changed, **{"Accept-Language": "en"})
    assert late.status_code == 400
    assert late.json()["detail"] == "Only a draft or scheduled campaign can be changed."
    assert send("PUT", base, changed | {"lists": ["nope"]}).status_code == 400
    assert send("PUT", "/api/v1/campaigns/999999", changed).status_code == 404
    with committed_db() as db:
        actions = db.scalars(
            select(AuditLogEntry.action).where(AuditLogEntry.actor_type == "api_token")
        ).all()
        assert actions.count("post.update") == 1 and actions.count("campaign.update") == 1
