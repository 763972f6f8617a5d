"""The words staff read for stored states: statuses, kinds and roles in the page's language.

The database keeps stable English codes (``press_release``, ``sent``); pages show their
translation. One word may need two translations ("sent" is "envoyée" for a campaign and
"envoyé" for a message), so each kind of state has its own catalogue context.
"""

from __future__ import annotations

from enum import Enum

from newsletter.bounces.models import BounceKind
from newsletter.campaigns.models import CampaignKind, CampaignStatus, DeliveryStatus
from newsletter.content.models import PostKind
from newsletter.content.views import kind_label
from newsletter.i18n import current_language, pgettext
from newsletter.imports.models import ImportStatus
from newsletter.press.models import BriefingStatus
from newsletter.registrations.models import MessageStatus, RegistrationStatus
from newsletter.staff.models import StaffRole
from newsletter.subscribers.models import SubscriberStatus, SubscriptionStatus

#: The catalogue context of each kind of state (msgctxt in messages.po).
CONTEXTS: dict[type[Enum], str] = {
    CampaignStatus: "campaign status",
    CampaignKind: "campaign kind",
    DeliveryStatus: "delivery status",
    MessageStatus: "delivery status",
    SubscriberStatus: "subscriber status",
    SubscriptionStatus: "subscription status",
    ImportStatus: "import status",
    BriefingStatus: "briefing status",
    RegistrationStatus: "registration status",
    StaffRole: "staff role",
    BounceKind: "bounce kind",
}


def label(value: object, context: str | None = None) -> str:
    """``{{ c.status|label }}``: the state in the current page language; the English text is
    the code with spaces ("auto reply"), so English pages read as before. A bare code needs
    its context: ``{{ "active"|label("subscriber status") }}``."""
    if isinstance(value, PostKind):
        return kind_label(value, current_language())
    if isinstance(value, Enum):
        context = CONTEXTS.get(type(value))
        value = value.value
    if value is None:
        return ""
    text = str(value).replace("_", " ")
    return pgettext(context, text) if context else text
