"""Every model, imported in one place so ``Base.metadata`` is complete (Alembic reads it)."""

from newsletter.bounces.models import (
    BounceEvent,
    BounceKind,
    InboundMessage,
    InboundStatus,
    StaffWarning,
    StaffWarningKind,
)
from newsletter.campaigns.models import (
    Campaign,
    CampaignDeliveryTotal,
    CampaignKind,
    CampaignPost,
    CampaignStatus,
    CampaignVariant,
    Delivery,
    DeliveryStatus,
    campaign_lists,
)
from newsletter.content.models import FeedSource, Post, PostDownload, PostKind, PostTranslation
from newsletter.db import Base
from newsletter.imports.models import ImportJob, ImportStatus
from newsletter.observability.heartbeats import Heartbeat
from newsletter.press.models import Journalist, PressBriefing, PressContact, PressMessage
from newsletter.registrations.models import (
    EventNotice,
    EventSetup,
    Registration,
    RegistrationMessage,
)
from newsletter.rendering.branding import MailBranding
from newsletter.staff.models import (
    ApiToken,
    AuditLogEntry,
    EmailTemplateVersion,
    StaffRole,
    StaffSession,
    StaffUser,
)
from newsletter.staff.summary_model import ReportSummary
from newsletter.subscribers.models import (
    MailingList,
    MailingListTranslation,
    Subscriber,
    SubscriberStatus,
    SubscriberStatusChange,
    Subscription,
    SubscriptionStatus,
    Suppression,
    SuppressionReason,
)

__all__ = [
    "ApiToken",
    "AuditLogEntry",
    "Base",
    "BounceEvent",
    "BounceKind",
    "Campaign",
    "CampaignDeliveryTotal",
    "CampaignKind",
    "CampaignPost",
    "CampaignStatus",
    "CampaignVariant",
    "Delivery",
    "DeliveryStatus",
    "EmailTemplateVersion",
    "EventNotice",
    "EventSetup",
    "FeedSource",
    "Heartbeat",
    "ImportJob",
    "ImportStatus",
    "InboundMessage",
    "InboundStatus",
    "Journalist",
    "MailBranding",
    "MailingList",
    "MailingListTranslation",
    "Post",
    "PostDownload",
    "PostKind",
    "PostTranslation",
    "PressBriefing",
    "PressContact",
    "PressMessage",
    "Registration",
    "RegistrationMessage",
    "ReportSummary",
    "StaffRole",
    "StaffSession",
    "StaffUser",
    "StaffWarning",
    "StaffWarningKind",
    "Subscriber",
    "SubscriberStatus",
    "SubscriberStatusChange",
    "Subscription",
    "SubscriptionStatus",
    "Suppression",
    "SuppressionReason",
    "campaign_lists",
]
