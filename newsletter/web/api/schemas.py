"""JSON shapes of the API (they are the OpenAPI document's schemas)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from newsletter.subscribers.models import SubscriberStatus

#: Text as PostgreSQL can store it: no NUL character.
Text = Annotated[str, StringConstraints(pattern=r"^[^\x00]*$")]
Name = Annotated[str, StringConstraints(max_length=200, pattern=r"^[^\x00]*$")]
Language = Annotated[str, StringConstraints(min_length=2, max_length=8, pattern=r"^[a-z]{2,8}$")]
Slug = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")
]


class Problem(BaseModel):
    detail: str


class SubscriberOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    name: str
    language: str
    timezone: str | None
    status: SubscriberStatus
    status_reason: str
    created_at: dt.datetime
    consent_at: dt.datetime | None
    consent_source: str | None
    lists: list[str] = Field(description="Slugs of the lists the person is subscribed to")


class SubscriberPage(BaseModel):
    items: list[SubscriberOut]
    total: int


class SubscriberCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Annotated[str, StringConstraints(min_length=3, max_length=320, pattern=r"^[^\x00]*$")]
    name: Name = ""
    language: Language | None = None
    lists: list[Slug] = Field(default_factory=list, max_length=100)
    consent_basis: Annotated[
        str, StringConstraints(min_length=5, max_length=200, pattern=r"^[^\x00]*$")
    ] = Field(description="How the person agreed to receive mail (required)")


class SubscriberUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    language: Language | None = None
    timezone: Annotated[str, StringConstraints(max_length=64, pattern=r"^[^\x00]*$")] | None = None
    lists: list[Slug] | None = Field(default=None, max_length=100)


class ListText(BaseModel):
    name: Name
    description: Annotated[str, StringConstraints(max_length=1000, pattern=r"^[^\x00]*$")] = ""


class ListOut(BaseModel):
    id: int
    slug: str
    is_public: bool
    texts: dict[str, ListText]
    active_subscribers: int


class ListIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: Slug
    is_public: bool = True
    texts: dict[Language, ListText] = Field(max_length=20)


class PostTextOut(BaseModel):
    title: str
    summary: str
    body_markdown: str


class PostOut(BaseModel):
    id: int
    kind: str
    published_at: dt.datetime | None
    embargo_until: dt.datetime | None
    event_start: dt.datetime | None
    event_timezone: str | None
    texts: dict[str, PostTextOut]


class CampaignOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    name: str
    status: str
    template_name: str
    scheduled_at: dt.datetime | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    total_count: int
    sent_count: int
    deferred_count: int
    failed_count: int
    bounced_count: int
    skipped_count: int
