"""JSON shapes of the API (they are the OpenAPI document's schemas)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from newsletter.subscribers.models import SubscriberStatus

#: Text as PostgreSQL can store it: no NUL character.
Text = Annotated[str, StringConstraints(pattern=r"^[^\x00]*$")]
Name = Annotated[str, StringConstraints(max_length=200, pattern=r"^[^\x00]*$")]
Language = Annotated[str, StringConstraints(min_length=2, max_length=8, pattern=r"^[a-z]{2,8}$")]
Slug = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")
]


def _within_reason(value: dt.datetime) -> dt.datetime:
    """Years 2000-2999 only: a far date overflows on conversion to UTC, a 500 instead of a 422."""
    if not 2000 <= value.year <= 2999:
        raise ValueError("the year must be between 2000 and 2999")
    return value


#: A moment with its UTC offset, in a range every component can store.
Moment = Annotated[AwareDatetime, AfterValidator(_within_reason)]
#: A wall-clock time (an event's start, local to its zone when it has no offset).
WallTime = Annotated[dt.datetime, AfterValidator(_within_reason)]


class Problem(BaseModel):
    detail: str


#: A route's ``responses=``: status code -> its OpenAPI entry (the error body is a Problem).
Responses = dict[int | str, dict[str, Any]]


def problem(status: int, description: str | None = None) -> Responses:
    """The OpenAPI entry of one error answer, so every route documents its refusals alike."""
    entry: dict[str, Any] = {"model": Problem}
    if description:
        entry["description"] = description
    return {status: entry}


AUTH: Responses = problem(401) | problem(403)


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
    total: int = Field(description="Matches, counted up to a cap (see total_capped)")
    total_capped: bool = Field(
        default=False, description="True when more match than were counted: total is a floor"
    )


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
    active_subscribers: int = Field(
        description="Active subscriptions, from the summary refreshed in the background"
    )
    counted_at: dt.datetime = Field(description="When active_subscribers was counted")


class ListIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: Slug
    is_public: bool = True
    texts: dict[Language, ListText] = Field(max_length=20)


class PostTextOut(BaseModel):
    title: str
    summary: str
    body_markdown: str
    location: str | None = None


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


class PostTextIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=r"^[^\x00]*$")]
    summary: Annotated[str, StringConstraints(max_length=5000, pattern=r"^[^\x00]*$")] = ""
    body_markdown: Annotated[str, StringConstraints(max_length=200_000, pattern=r"^[^\x00]*$")] = ""
    location: Annotated[str, StringConstraints(max_length=300, pattern=r"^[^\x00]*$")] | None = (
        Field(default=None, description="An event's place as written in this language")
    )


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: WallTime = Field(description="Local to `timezone` when it carries no offset")
    timezone: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\x00]*$")]
    duration_minutes: Annotated[int, Field(ge=1, le=7 * 24 * 60)] | None = None
    location: Annotated[str, StringConstraints(max_length=300, pattern=r"^[^\x00]*$")] | None = None
    online_url: Annotated[str, StringConstraints(max_length=1000, pattern=r"^[^\x00]*$")] | None = (
        None
    )
    registration_url: (
        Annotated[str, StringConstraints(max_length=1000, pattern=r"^[^\x00]*$")] | None
    ) = None


class PostCreate(BaseModel):
    """A post with its language versions; a draft unless ``publish`` says otherwise."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["press_release", "statement", "report", "event", "news"]
    texts: dict[Language, PostTextIn] = Field(
        min_length=1, max_length=20, description="One version per offered language"
    )
    event: EventIn | None = None
    contacts: Annotated[str, StringConstraints(max_length=5000, pattern=r"^[^\x00]*$")] = ""
    embargo_until: Moment | None = Field(
        default=None, description="With a time zone; hidden and unmailed until then"
    )
    publish: Literal["draft", "now", "at"] = "draft"
    publish_at: Moment | None = Field(default=None, description='With publish "at"')
    alert: bool = Field(default=True, description="Send the instant alert of its kind")


class CampaignTextIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: Annotated[str, StringConstraints(min_length=1, max_length=300, pattern=r"^[^\x00]*$")]
    preheader: Annotated[str, StringConstraints(max_length=300, pattern=r"^[^\x00]*$")] = ""
    body_markdown: Annotated[str, StringConstraints(max_length=100_000, pattern=r"^[^\x00]*$")] = ""


class CampaignCreate(BaseModel):
    """A draft campaign: template, lists (slugs), posts (ids) and text per language."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00]*$")]
    template_name: Annotated[str, StringConstraints(max_length=100, pattern=r"^[^\x00]*$")] = (
        "newsletter"
    )
    lists: list[Slug] = Field(min_length=1, max_length=100)
    posts: list[Annotated[int, Field(ge=1, le=2**31 - 1)]] = Field(
        default_factory=list, max_length=100
    )
    texts: dict[Language, CampaignTextIn] = Field(min_length=1, max_length=20)
    archive_hidden: bool = Field(
        default=False, description="Keep it out of the public archive even if its lists are public"
    )


class ScheduleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at: Moment = Field(description="When to start sending; with a time zone, in the future")
