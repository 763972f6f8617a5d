"""The audit log: every staff or API action that changes data or exports it.

Who (actor kind and id), what (action, object), when (UTC) and from where (the client IP,
kept in full, truncated to its network, or dropped, per ``AUDIT_IP``). Details carry
ids and counts, never a subscriber's address or name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from newsletter.staff.models import AuditLogEntry


@dataclass(frozen=True)
class Actor:
    """Who acts: a signed-in staff member, an API token, the CLI or the system."""

    kind: str
    id: int | None = None
    ip: str | None = None
    #: The staff member an API token acts for (its owner); None for other kinds.
    on_behalf_of: int | None = None

    @property
    def staff_user_id(self) -> int | None:
        """The staff member behind the action, for ``created_by`` columns (an API token's id is
        not a staff id)."""
        return self.id if self.kind == "staff" else self.on_behalf_of

    @property
    def label(self) -> str:
        """Short form for status-history ``actor`` columns (no personal data)."""
        return f"{self.kind}:{self.id}" if self.id is not None else self.kind


def ip_for_audit(ip: str | None, mode: str) -> str | None:
    """The client address as ``AUDIT_IP`` allows: full, truncated (/24, /48) or dropped."""
    from newsletter.subscribers.service import truncate_ip

    return truncate_ip(ip, mode)


def record(
    session: Session,
    actor: Actor,
    action: str,
    *,
    object_type: str | None = None,
    object_id: object = None,
    detail: dict[str, Any] | None = None,
) -> AuditLogEntry:
    entry = AuditLogEntry(
        actor_type=actor.kind,
        actor_id=actor.id,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id)[:64],
        ip=actor.ip,
        detail=detail or {},
    )
    session.add(entry)
    return entry
