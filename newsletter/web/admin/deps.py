"""The one dependency every staff page uses: who is signed in, and may they do this?

``require(role)`` returns a :class:`RoleRequirement`; a route declares
``staff: Staff = Depends(require(StaffRole.EDITOR))``. Anonymous requests are sent to the
sign-in page (GET) or refused with 401; a signed-in person below the role gets 403. The
route-walk test finds this dependency on every ``/admin`` route, so a route without it
cannot be added unnoticed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from newsletter.config import Settings
from newsletter.i18n import gettext
from newsletter.staff.audit import Actor, ip_for_audit
from newsletter.staff.models import StaffRole, StaffSession, StaffUser
from newsletter.staff.sessions import COOKIE_NAME, find_session
from newsletter.web.app import session_dependency

ROLE_RANK = {StaffRole.VIEWER: 0, StaffRole.EDITOR: 1, StaffRole.ADMIN: 2}


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def request_actor(request: Request, kind: str = "anonymous", actor_id: int | None = None) -> Actor:
    settings: Settings = request.app.state.settings
    return Actor(kind, actor_id, ip_for_audit(client_ip(request), settings.audit_ip))


@dataclass
class Staff:
    """The signed-in staff member of this request, with the session and audit identity."""

    user: StaffUser
    session: StaffSession
    actor: Actor
    db: Session

    def can(self, role: StaffRole) -> bool:
        return ROLE_RANK[self.user.role] >= ROLE_RANK[role]


class RoleRequirement:
    """A FastAPI dependency that admits signed-in staff of ``min_role`` or above."""

    def __init__(self, min_role: StaffRole) -> None:
        self.min_role = min_role

    def __call__(
        self, request: Request, db: Annotated[Session, Depends(session_dependency)]
    ) -> Staff:
        settings: Settings = request.app.state.settings
        live = find_session(db, request.cookies.get(COOKIE_NAME), settings)
        if db.new or db.dirty or db.deleted:
            db.commit()
        if live is None or live.second_factor_pending:
            if request.method == "GET":
                target = quote(request.url.path, safe="/")
                raise HTTPException(303, headers={"Location": f"/admin/login?next={target}"})
            raise HTTPException(401, detail=gettext("Please sign in."))
        user = live.staff_user
        request.state.staff_user = user
        if ROLE_RANK[user.role] < ROLE_RANK[self.min_role]:
            raise HTTPException(403, detail=gettext("Your role does not allow this."))
        return Staff(user, live, request_actor(request, "staff", user.id), db)

    def __repr__(self) -> str:
        return f"require({self.min_role.value})"


_REQUIREMENTS = {role: RoleRequirement(role) for role in StaffRole}


def require(role: StaffRole) -> RoleRequirement:
    return _REQUIREMENTS[role]


viewer = require(StaffRole.VIEWER)
editor = require(StaffRole.EDITOR)
admin = require(StaffRole.ADMIN)
