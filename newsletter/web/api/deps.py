"""The one dependency every API route uses: a live token holding the route's scope.

``Depends(scope("subscribers:read"))`` returns the :class:`ApiCaller`. No or an unknown,
revoked or expired token: 401; a token without the scope (or whose owner's role no longer
allows it): 403. The API walk test finds this dependency on every ``/api/v1`` route.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from newsletter.config import Settings
from newsletter.i18n import gettext, negotiate_language
from newsletter.staff.api_tokens import authenticate, effective_scopes
from newsletter.staff.audit import Actor, ip_for_audit
from newsletter.staff.models import ApiToken
from newsletter.web.admin.deps import client_ip
from newsletter.web.app import session_dependency

bearer = HTTPBearer(auto_error=False, description="An API token made on the API tokens page.")


@dataclass
class ApiCaller:
    token: ApiToken
    actor: Actor
    db: Session
    settings: Settings
    #: The language of refusals written for people (``Accept-Language``, else the default).
    language: str = "en"

    def refusal(self, status: int, message: str) -> HTTPException:
        """A domain refusal (an English message id) as an API error in the caller's language."""
        return HTTPException(status, detail=gettext(message, self.language))


class ScopeRequirement:
    def __init__(self, scope: str) -> None:
        self.scope = scope

    def __call__(
        self,
        request: Request,
        db: Annotated[Session, Depends(session_dependency)],
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> ApiCaller:
        token = authenticate(db, credentials.credentials if credentials else None)
        if token is None:
            raise HTTPException(
                401,
                detail="A valid API token is required.",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if db.dirty:
            db.commit()
        if self.scope not in effective_scopes(token):
            raise HTTPException(403, detail=f"This token lacks the {self.scope} scope.")
        settings: Settings = request.app.state.settings
        ip = ip_for_audit(client_ip(request), settings.audit_ip)
        language = negotiate_language(
            request.headers.get("accept-language"), settings.languages, settings.default_language
        )
        return ApiCaller(
            token,
            Actor("api_token", token.id, ip, on_behalf_of=token.staff_user_id),
            db,
            settings,
            language,
        )

    def __repr__(self) -> str:
        return f"scope({self.scope})"


_CACHE: dict[str, ScopeRequirement] = {}


def scope(name: str) -> ScopeRequirement:
    return _CACHE.setdefault(name, ScopeRequirement(name))
