"""What goes where: which lists receive press-release alerts, event alerts, statement and
report alerts, and the monthly digest.

Why on the list: wiring hidden in settings (a list had to be named exactly ``press-releases``)
let a coalition name its list "press" and never learn that its alerts went nowhere. The routes
are stored on each list and shown and edited on the console's list page. A list whose routes
nobody chose yet (made by an import, a test, an old script) follows the settings' initial
wiring by its slug (``ALERT_LISTS``, ``DIGEST_LIST``); the migration that introduced routes
wrote that wiring onto the lists that existed.

The same counts serve every "who will get this" question (the post form, the confirmation
steps): distinct sendable readers per list and language, by the campaign engine's rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from newsletter.config import Settings
from newsletter.content.models import PostKind
from newsletter.i18n import gettext
from newsletter.subscribers.models import (
    MailingList,
    MailingListRoute,
    Subscriber,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
    Suppression,
)


class Route(StrEnum):
    PRESS_RELEASE_ALERTS = "press_release_alerts"
    EVENT_ALERTS = "event_alerts"
    STATEMENT_ALERTS = "statement_alerts"
    DIGEST = "digest"


#: The alert each kind of post sends; news has none (it goes in the digest only).
ALERT_ROUTES: dict[PostKind, Route] = {
    PostKind.PRESS_RELEASE: Route.PRESS_RELEASE_ALERTS,
    PostKind.EVENT: Route.EVENT_ALERTS,
    PostKind.STATEMENT: Route.STATEMENT_ALERTS,
    PostKind.REPORT: Route.STATEMENT_ALERTS,
}
ALERTING_KINDS = tuple(ALERT_ROUTES)


def route_label(route: Route, language: str) -> str:
    labels = {
        Route.PRESS_RELEASE_ALERTS: gettext("Press-release alerts", language),
        Route.EVENT_ALERTS: gettext("Event alerts", language),
        Route.STATEMENT_ALERTS: gettext("Statement and report alerts", language),
        Route.DIGEST: gettext("Monthly digest", language),
    }
    return labels[route]


def alert_route(kind: PostKind | str) -> Route | None:
    try:
        return ALERT_ROUTES.get(PostKind(kind))
    except ValueError:
        return None


def initial_slugs(settings: Settings) -> dict[Route, set[str]]:
    """The settings' wiring (``ALERT_LISTS`` per post kind, ``DIGEST_LIST``) as routes."""
    wiring: dict[Route, set[str]] = {route: set() for route in Route}
    for kind, slug in settings.alert_lists.items():
        route = alert_route(kind)
        if route is not None:
            wiring[route].add(slug)
    wiring[Route.DIGEST].add(settings.digest_list)
    return wiring


def routes_of(settings: Settings, mailing_list: MailingList) -> set[Route]:
    """What the list receives: its stored routes, or the settings' wiring until chosen."""
    if mailing_list.routes_chosen:
        return {Route(r.route) for r in mailing_list.routes if r.route in set(Route)}
    return {route for route, slugs in initial_slugs(settings).items() if mailing_list.slug in slugs}


def set_routes(settings: Settings, mailing_list: MailingList, routes: Iterable[Route]) -> None:
    """Store the routes staff chose (from now on the settings no longer apply to this list).

    Choosing what the list already receives from the settings stores nothing: a list form
    saved unchanged changes nothing."""
    wanted = {Route(r) for r in routes}
    if not mailing_list.routes_chosen and wanted == routes_of(settings, mailing_list):
        return
    for stored in list(mailing_list.routes):
        if stored.route not in wanted:
            mailing_list.routes.remove(stored)
    have = {r.route for r in mailing_list.routes}
    for route in sorted(wanted - have):
        mailing_list.routes.append(MailingListRoute(route=route.value))
    mailing_list.routes_chosen = True


def lists_for(settings: Settings, session: Session, route: Route) -> list[MailingList]:
    """Every list that receives ``route``, by slug."""
    chosen = and_(
        MailingList.routes_chosen.is_(True),
        exists().where(
            MailingListRoute.list_id == MailingList.id, MailingListRoute.route == route.value
        ),
    )
    slugs = sorted(initial_slugs(settings)[route])
    initial = and_(MailingList.routes_chosen.is_(False), MailingList.slug.in_(slugs))
    return list(
        session.scalars(select(MailingList).where(or_(chosen, initial)).order_by(MailingList.slug))
    )


@dataclass(frozen=True)
class Audience:
    """Who a mail to some lists reaches now: distinct readers, and per list and language."""

    total: int
    per_list: list[tuple[MailingList, dict[str, int]]] = field(default_factory=list)

    def by_language(self) -> dict[str, int]:
        """Distinct readers per language are not the sum over lists; ``total`` is exact."""
        merged: dict[str, int] = {}
        for _list, counts in self.per_list:
            for language, count in counts.items():
                merged[language] = merged.get(language, 0) + count
        return merged


def _sendable(list_ids: Sequence[int]):  # type: ignore[no-untyped-def]
    """The engine's rule (campaigns/recipients.py) for a set of lists instead of a campaign."""
    suppressed = exists().where(Suppression.address_hash == Subscriber.email_hash)
    return and_(
        Subscriber.status == SubscriberStatus.ACTIVE,
        Subscription.subscriber_id == Subscriber.id,
        Subscription.status == SubscriptionStatus.ACTIVE,
        Subscription.list_id.in_(list_ids),
        ~suppressed,
    )


def audience(session: Session, lists: Sequence[MailingList]) -> Audience:
    """Counts for a confirmation step: the same readers the snapshot would take now."""
    ids = [m.id for m in lists]
    if not ids:
        return Audience(0, [])
    rows = session.execute(
        select(Subscription.list_id, Subscriber.language, func.count())
        .select_from(Subscriber)
        .join(Subscription, Subscription.subscriber_id == Subscriber.id)
        .where(_sendable(ids))
        .group_by(Subscription.list_id, Subscriber.language)
    ).all()
    counts: dict[int, dict[str, int]] = {}
    for list_id, language, count in rows:
        counts.setdefault(list_id, {})[language] = count
    total = session.scalar(
        select(func.count(func.distinct(Subscriber.id)))
        .select_from(Subscriber)
        .join(Subscription, Subscription.subscriber_id == Subscriber.id)
        .where(_sendable(ids))
    )
    return Audience(
        int(total or 0), [(m, dict(sorted(counts.get(m.id, {}).items()))) for m in lists]
    )


def alert_audience(settings: Settings, session: Session, kind: PostKind | str) -> Audience | None:
    """Who a post of ``kind`` alerts now; None for a kind that sends no alert."""
    route = alert_route(kind)
    if route is None:
        return None
    return audience(session, lists_for(settings, session, route))
