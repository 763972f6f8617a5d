"""The REST API: scoped tokens (hashed, shown once, revocable), every route scope-checked,
writes audited, and a schemathesis fuzz run of the OpenAPI schema over real HTTP."""

from __future__ import annotations

import hashlib
import re
import time
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from newsletter.db import unit_of_work
from newsletter.staff import api_tokens
from newsletter.staff.audit import Actor
from newsletter.staff.models import ApiToken, AuditLogEntry, StaffRole, StaffUser
from newsletter.subscribers.models import SubscriberStatus, SuppressionReason
from newsletter.subscribers.status import suppress_address
from newsletter.web.api.deps import ScopeRequirement
from tests.admin.factories import make_list, make_subscriber
from tests.admin.helpers import StaffClient, app_for, make_staff
from tests.admin.test_roles import flat_routes

ISSUE_3_PUBLIC = "/api/v1/subscriptions"


def token_for(factory: sessionmaker[Session], role: StaffRole, scopes: list[str]) -> str:
    with unit_of_work(factory) as db:
        owner = db.scalar(select(StaffUser).where(StaffUser.role == role))
        if owner is None:
            owner = db.get(StaffUser, make_staff(factory, role))
        _token, raw = api_tokens.create_token(
            db, owner, Actor("test"), name=f"{role.value} token", scopes=scopes
        )
        return raw


def test_every_api_route_requires_exactly_one_scope(tmp_path: Path, pg_url: str) -> None:
    app = app_for(tmp_path, pg_url)
    routes = [
        (p, r)
        for p, r in flat_routes(app.routes)
        if p.startswith("/api/v1") and not p.startswith(ISSUE_3_PUBLIC)
    ]
    assert len(routes) >= 10
    for path, route in routes:
        found = [
            d.call for d in route.dependant.dependencies if isinstance(d.call, ScopeRequirement)
        ]
        assert len(found) == 1, f"{path} has no scope check"
        assert found[0].scope in api_tokens.SCOPES


def test_tokens_are_scoped_hashed_and_revocable(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session]
) -> None:
    with unit_of_work(committed_db) as db:
        make_subscriber(db, "amina@example.org", lists=[make_list(db, "press", "Press")])
    reader = token_for(committed_db, StaffRole.EDITOR, ["subscribers:read"])
    app = app_for(tmp_path, pg_url)
    client = StaffClient(app).http

    def get(path: str, token: str | None) -> int:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return client.get(path, headers=headers).status_code

    assert get("/api/v1/subscribers", None) == 401
    assert get("/api/v1/subscribers", "nl_deadbeef_not-a-real-token") == 401
    assert get("/api/v1/subscribers", reader) == 200
    assert get("/api/v1/lists", reader) == 403  # not in its scopes
    body = {"email": "new@example.org", "consent_basis": "paper form", "lists": ["press"]}
    headers = {"Authorization": f"Bearer {reader}"}
    assert client.post("/api/v1/subscribers", json=body, headers=headers).status_code == 403
    with committed_db() as db:
        stored = db.scalars(select(ApiToken)).one()
        assert stored.token_hash == hashlib.sha256(reader.encode()).hexdigest()
        assert reader not in repr([stored.token_prefix, stored.token_hash, stored.name])
        api_tokens.revoke(db, stored, Actor("test"))
        db.commit()
    assert get("/api/v1/subscribers", reader) == 401


def test_a_token_never_exceeds_its_owners_current_role(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session]
) -> None:
    with unit_of_work(committed_db) as db:
        viewer = db.get(StaffUser, make_staff(committed_db, StaffRole.VIEWER))
        with pytest.raises(api_tokens.TokenRefused):
            api_tokens.create_token(
                db, viewer, Actor("test"), name="x", scopes=["subscribers:read"]
            )
    token = token_for(committed_db, StaffRole.EDITOR, ["subscribers:read"])
    client = StaffClient(app_for(tmp_path, pg_url)).http
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/subscribers", headers=headers).status_code == 200
    with unit_of_work(committed_db) as db:
        db.scalar(
            select(StaffUser).where(StaffUser.role == StaffRole.EDITOR)
        ).role = StaffRole.VIEWER
    assert client.get("/api/v1/subscribers", headers=headers).status_code == 403
    with unit_of_work(committed_db) as db:
        db.scalar(select(StaffUser).where(StaffUser.email.like("editor@%"))).is_active = False
    assert client.get("/api/v1/subscribers", headers=headers).status_code == 401


def test_api_writes_are_audited_and_refuse_suppressed_addresses(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session]
) -> None:
    with unit_of_work(committed_db) as db:
        make_list(db, "press", "Press")
        suppress_address(db, "gone@example.org", SuppressionReason.COMPLAINT)
    token = token_for(
        committed_db,
        StaffRole.ADMIN,
        ["subscribers:write", "subscribers:read", "subscribers:erase", "lists:write"],
    )
    client = StaffClient(app_for(tmp_path, pg_url)).http
    headers = {"Authorization": f"Bearer {token}"}
    body = {
        "email": "New@Example.org",
        "name": "Nadia",
        "language": "fr",
        "lists": ["press"],
        "consent_basis": "signed at the assembly",
    }
    created = client.post("/api/v1/subscribers", json=body, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["lists"] == ["press"] and created.json()["status"] == "active"
    assert client.post("/api/v1/subscribers", json=body, headers=headers).status_code == 409
    gone = client.post(
        "/api/v1/subscribers", json=body | {"email": "gone@example.org"}, headers=headers
    )
    assert gone.status_code == 409
    sid = created.json()["id"]
    patched = client.patch(f"/api/v1/subscribers/{sid}", json={"lists": []}, headers=headers)
    assert patched.status_code == 200 and patched.json()["lists"] == []
    assert client.delete(f"/api/v1/subscribers/{sid}", headers=headers).status_code == 204
    assert client.get(f"/api/v1/subscribers/{sid}", headers=headers).status_code == 404
    new_list = {"slug": "events", "texts": {"en": {"name": "Events"}, "fr": {"name": "Agenda"}}}
    assert client.post("/api/v1/lists", json=new_list, headers=headers).status_code == 201
    with committed_db() as db:
        entries = db.scalars(select(AuditLogEntry).where(AuditLogEntry.actor_type == "api_token"))
        actions = [e.action for e in entries]
        assert actions == [
            "subscriber.create",
            "subscriber.edit",
            "subscriber.erase",
            "list.create",
        ]
        assert not any("example.org" in str(e.detail) for e in db.scalars(select(AuditLogEntry)))


def test_the_token_page_shows_a_new_token_once(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session]
) -> None:
    make_staff(committed_db, StaffRole.EDITOR)
    client = StaffClient(app_for(tmp_path, pg_url))
    client.sign_in("editor@coalition.example.org")
    client.get("/admin/tokens")
    page = client.post("/admin/tokens", {"name": "CRM sync", "scopes": ["subscribers:read"]})
    raw = re.search(r'id="new-token">(nl_[^<]+)<', page.text).group(1)
    assert raw not in client.get("/admin/tokens").text
    ok = client.http.get("/api/v1/subscribers", headers={"Authorization": f"Bearer {raw}"})
    assert ok.status_code == 200
    with committed_db() as db:
        token_id = db.scalars(select(ApiToken.id)).one()
    assert client.post(f"/admin/tokens/{token_id}/revoke").status_code == 303
    gone = client.http.get("/api/v1/subscribers", headers={"Authorization": f"Bearer {raw}"})
    assert gone.status_code == 401


# ---- schemathesis: the OpenAPI document against the running app (real HTTP) ----------------


@pytest.fixture
def api_target(tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session], live_server):  # type: ignore[no-untyped-def]
    with unit_of_work(committed_db) as db:
        press = make_list(db, "press", "Press", "Presse")
        make_subscriber(db, "amina@example.org", name="Amina", lists=[press])
        make_subscriber(db, "ben@example.org", status=SubscriberStatus.PENDING)
    token = token_for(committed_db, StaffRole.ADMIN, list(api_tokens.SCOPES))
    base = live_server(app_for(tmp_path, pg_url))
    return base, token


def test_the_openapi_schema_holds_under_fuzzing(api_target) -> None:  # type: ignore[no-untyped-def]
    """Every staff API operation, a bounded number of generated requests each: no 5xx, only
    documented status codes and content types, and bodies that match the schema."""
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    base, token = api_target
    schema = schemathesis.openapi.from_url(base + "/openapi.json").include(
        path_regex=r"^/api/v1/(subscribers|lists|posts|campaigns)"
    )
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    by_label = {operation.label: operation for operation in operations}
    writes = {
        "POST /api/v1/posts",
        "POST /api/v1/campaigns",
        "POST /api/v1/campaigns/{campaign_id}/schedule",
        "POST /api/v1/campaigns/{campaign_id}/{action}",
        "PUT /api/v1/posts/{post_id}",
        "PUT /api/v1/campaigns/{campaign_id}",
    }
    assert writes <= set(by_label)
    auth = {"Authorization": f"Bearer {token}"}
    started = time.monotonic()
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def run(case) -> None:  # type: ignore[no-untyped-def]
            case.call_and_validate(base_url=base, headers=auth, checks=checks)

        run()

    def valid(label: str, status: int, **parts: object) -> dict:  # type: ignore[type-arg]
        """Random data rarely gets past validation: the success answers are checked too."""
        case = by_label[label].Case(media_type="application/json", **parts)  # type: ignore[arg-type]
        response = case.call_and_validate(base_url=base, headers=auth, checks=checks)
        assert response.status_code == status, response.text
        return response.json()

    texts = {"en": {"title": "Report", "body_markdown": "**Out** now"}, "fr": {"title": "Rapport"}}
    post = valid("POST /api/v1/posts", 201, body={"kind": "report", "texts": texts})
    rewrite = {"kind": "report", "texts": texts, "publish": "now"}
    valid("PUT /api/v1/posts/{post_id}", 200, path_parameters={"post_id": post["id"]}, body=rewrite)
    draft = {"name": "Fuzzed", "lists": ["press"], "texts": {"en": {"subject": "Hello"}}}
    campaign = valid("POST /api/v1/campaigns", 201, body=draft)
    ids = {"campaign_id": campaign["id"]}
    renamed = draft | {"name": "Fuzzed again"}
    valid("PUT /api/v1/campaigns/{campaign_id}", 200, path_parameters=ids, body=renamed)
    later = {"at": "2099-01-01T09:00:00+00:00"}
    valid("POST /api/v1/campaigns/{campaign_id}/schedule", 200, path_parameters=ids, body=later)
    for action, status in (("pause", 409), ("resume", 409), ("cancel", 200)):
        valid(
            "POST /api/v1/campaigns/{campaign_id}/{action}",
            status,
            path_parameters=ids | {"action": action},
        )
    assert time.monotonic() - started < 60


def test_campaigns_are_controlled_through_the_engine_with_the_write_scope(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session]
) -> None:
    from newsletter.campaigns.models import Campaign, CampaignKind, CampaignStatus

    with unit_of_work(committed_db) as db:
        campaign = Campaign(kind=CampaignKind.NEWSLETTER, name="Draft")
        db.add(campaign)
        db.flush()
        campaign_id = campaign.id
    reader = token_for(committed_db, StaffRole.EDITOR, ["campaigns:read"])
    writer = token_for(committed_db, StaffRole.EDITOR, ["campaigns:read", "campaigns:write"])
    client = StaffClient(app_for(tmp_path, pg_url)).http

    def post(path: str, token: str) -> int:
        return client.post(path, headers={"Authorization": f"Bearer {token}"}).status_code

    assert post(f"/api/v1/campaigns/{campaign_id}/cancel", reader) == 403
    assert post(f"/api/v1/campaigns/{campaign_id}/pause", writer) == 409  # not sending
    assert post(f"/api/v1/campaigns/{campaign_id}/cancel", writer) == 200
    assert post(f"/api/v1/campaigns/{campaign_id}/cancel", writer) == 409
    with committed_db() as db:
        assert db.get(Campaign, campaign_id).status == CampaignStatus.CANCELLED
        entry = db.scalars(select(AuditLogEntry).where(AuditLogEntry.action == "campaign.cancel"))
        assert entry.one().actor_type == "api_token"
