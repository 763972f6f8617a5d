"""Every /admin route checks the role on the server: a walk over ALL routes of the app.

The routes are enumerated from the application itself, so a route added later without the
role dependency (or without CSRF on a POST) makes this test fail.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session, sessionmaker

from newsletter.staff.models import StaffRole
from newsletter.web.admin.auth import PUBLIC_PATHS
from newsletter.web.admin.deps import ROLE_RANK, RoleRequirement
from newsletter.web.csrf import require_csrf
from tests.admin.helpers import StaffClient, app_for, make_staff


def role_requirements(dependant: Dependant) -> list[RoleRequirement]:
    found = [d.call for d in dependant.dependencies if isinstance(d.call, RoleRequirement)]
    for sub in dependant.dependencies:
        found += role_requirements(sub)
    return found


def flat_routes(routes: list, prefix: str = "") -> list[tuple[str, APIRoute]]:  # type: ignore[type-arg]
    """Every APIRoute with its full path, through included routers at any depth."""
    found: list[tuple[str, APIRoute]] = []
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            context = route.include_context
            found += flat_routes(included.routes, prefix + context.prefix)
            if context.dependencies:
                raise AssertionError("router-level dependencies: extend this walk")
        elif isinstance(route, APIRoute):
            found.append((prefix + route.path, route))
    return found


def admin_routes(app) -> list[APIRoute]:  # type: ignore[no-untyped-def]
    return [
        route
        for path, route in flat_routes(app.routes)
        if path.startswith("/admin") and path not in PUBLIC_PATHS
    ]


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_admin_route_declares_exactly_one_role_and_posts_need_csrf(
    tmp_path: Path, pg_url: str
) -> None:
    app = app_for(tmp_path, pg_url)
    routes = admin_routes(app)
    assert len(routes) >= 9
    for route in routes:
        requirements = role_requirements(route.dependant)
        assert len(requirements) == 1, f"{route.path} has no (or several) role checks"
        if route.methods - {"GET", "HEAD"}:
            calls = [d.call for d in route.dependant.dependencies]
            assert require_csrf in calls, f"{route.path} accepts a form without CSRF"
    paths = {path for path, _route in flat_routes(app.routes)}
    assert paths >= PUBLIC_PATHS  # the sign-in pages exist and are the only exceptions


def test_every_admin_route_refuses_anonymous_and_lower_roles(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session]
) -> None:
    app = app_for(tmp_path, pg_url)
    clients: dict[StaffRole, StaffClient] = {}
    for role in StaffRole:
        make_staff(committed_db, role)
        clients[role] = StaffClient(app)
        assert clients[role].sign_in(f"{role.value}@coalition.example.org").status_code == 303
    anonymous = StaffClient(app)
    checked = 0
    walked = {route.path for route in admin_routes(app)}
    assert walked >= {  # the console's later pages are walked like every other route
        "/admin/digests",
        "/admin/digests/{campaign_id}",
        "/admin/digests/{campaign_id}/approve",
        "/admin/digests/{campaign_id}/discard",
    }
    for route in admin_routes(app):
        needed = role_requirements(route.dependant)[0].min_role
        path = concrete(route.path)
        for method in sorted(route.methods - {"HEAD"}):
            if method == "GET":
                response = anonymous.http.get(path)
                assert response.status_code == 303, path
                assert response.headers["location"].startswith("/admin/login"), path
            else:
                response = anonymous.post(path)
                assert response.status_code == 401, (method, path)
            for role, client in clients.items():
                allowed = ROLE_RANK[role] >= ROLE_RANK[needed]
                if method == "GET":
                    status = client.http.get(path).status_code
                elif allowed:
                    continue  # a permitted POST would change data; its own tests cover it
                else:
                    status = client.post(path).status_code
                if allowed:
                    assert status not in (401, 403), (role, method, path, status)
                else:
                    assert status == 403, (role, method, path, status)
                checked += 1
    assert checked >= 15


@pytest.mark.parametrize("path", ["/admin/staff", "/admin/audit"])
def test_admin_pages_show_nothing_to_editors(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session], path: str
) -> None:
    make_staff(committed_db, StaffRole.EDITOR)
    client = StaffClient(app_for(tmp_path, pg_url))
    client.sign_in("editor@coalition.example.org")
    response = client.get(path)
    assert response.status_code == 403
    assert "@" not in response.text


def test_a_form_post_without_the_csrf_token_is_refused(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session]
) -> None:
    make_staff(committed_db, StaffRole.ADMIN)
    client = StaffClient(app_for(tmp_path, pg_url))
    client.sign_in("admin@coalition.example.org")
    data = {"email": "new@coalition.example.org", "role": "viewer", "password": "p" * 14}
    refused = client.http.post("/admin/staff", data=data)
    assert refused.status_code == 403
    forged = client.http.post("/admin/staff", data=data | {"csrf_token": "0" * 64})
    assert forged.status_code == 403
    assert client.post("/admin/staff", data).status_code == 303
