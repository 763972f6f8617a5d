"""The ``List-Unsubscribe`` pair every email to a confirmed subscriber carries (RFC 8058).

One function so the welcome email (subscribe journey) and every campaign message (sending
engine) carry the same https + mailto links, built from the same token as the footer link.
"""

from __future__ import annotations

from newsletter.config import Settings
from newsletter.links import UnsubscribeScope, unsubscribe_mailto, unsubscribe_url


def list_unsubscribe_headers(settings: Settings, scope: UnsubscribeScope) -> dict[str, str]:
    """``List-Unsubscribe`` (https first, then mailto) and ``List-Unsubscribe-Post``."""
    https = unsubscribe_url(settings, scope)
    mailto = unsubscribe_mailto(settings, scope)
    return {
        "List-Unsubscribe": f"<{https}>, <{mailto}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
