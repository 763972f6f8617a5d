"""The bot checks in front of every sign-up: honeypot, fill time, proof-of-work, rate limits.

Order matters and is the same for the hosted page, the embedded form and the JSON API:

1. per-IP rate limit (before any other work, so a flood costs us little);
2. honeypot: a field people never see; filled in, the submission is dropped *silently*
   (the bot is shown the normal "check your inbox" answer and learns nothing);
3. minimum fill time: the form carries a signed "shown at" stamp; a submission faster than
   ``MIN_FILL_SECONDS`` is dropped silently too;
4. ALTCHA proof-of-work when enabled: a self-hosted challenge (the ``altcha`` package, V1
   scheme: find n with SHA-256(salt + n) = challenge), each solution usable once. Without
   JavaScript (Tor Browser's safer mode) there is no solver: the form comes back filled in
   with a signed wait ticket, and is accepted when sent again after ``NOJS_WAIT_SECONDS``
   (time instead of work; the ticket is usable once and the per-IP limit still counts);
5. after the address is validated, a per-address rate limit (keyed by the address hash).

The per-address cap on confirmation emails is the service's (``service.subscribe``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

import altcha

from newsletter import clock
from newsletter.abuse.ratelimit import HOUR, RateLimiter
from newsletter.config import Settings
from newsletter.i18n import gettext as _
from newsletter.tokens import InvalidToken, signer

HONEYPOT_FIELD = "website"
STAMP_FIELD = "form_stamp"
ALTCHA_FIELD = "altcha"
NOJS_FIELD = "nojs_ticket"
_STAMP_PURPOSE = "form-stamp"
_NOJS_PURPOSE = "nojs-wait"
_STAMP_MAX_AGE = 24 * 3600
_ALTCHA_MINUTES = 20


class Verdict(StrEnum):
    OK = "ok"
    DROP = "drop"  # a bot: answer as if all went well, store and send nothing
    LIMITED = "limited"  # 429
    REFUSED = "refused"  # 400 with a message (proof-of-work missing or wrong)
    WAIT = "wait"  # no proof of work: show the form again with ``ticket``, to send later


@dataclass(frozen=True)
class Check:
    verdict: Verdict
    why: str = ""
    message: str = ""
    retry_after: int = 0
    ticket: str = ""


PASSED = Check(Verdict.OK)


def form_stamp(settings: Settings, now: float | None = None) -> str:
    """A signed "this form was shown at" stamp, put in a hidden field of every form."""
    shown_at = int(now if now is not None else clock.timestamp())
    return signer(settings.secret_key, _STAMP_PURPOSE).sign(
        str(shown_at), max_age_seconds=_STAMP_MAX_AGE, now=shown_at
    )


def _filled_too_fast(settings: Settings, stamp: str | None, required: bool, now: float) -> bool:
    if settings.min_fill_seconds <= 0:
        return False
    if not stamp:
        return required
    try:
        shown_at = int(signer(settings.secret_key, _STAMP_PURPOSE).verify(stamp, now=now))
    except (InvalidToken, ValueError):
        return True
    return now - shown_at < settings.min_fill_seconds


def new_challenge(settings: Settings) -> dict[str, object]:
    """An ALTCHA challenge (JSON for the solver in /static/js/signup.js)."""
    expires = clock.now() + dt.timedelta(minutes=_ALTCHA_MINUTES)
    challenge = altcha.create_challenge_v1(
        altcha.ChallengeOptionsV1(
            hmac_key=_altcha_key(settings),
            max_number=settings.altcha_max_number,
            expires=expires,
        )
    )
    return challenge.to_dict()


def _altcha_key(settings: Settings) -> str:
    return f"altcha\0{settings.secret_key}"


def _altcha_ok(settings: Settings, limiter: RateLimiter, payload: object) -> bool:
    if not isinstance(payload, str) or not payload or len(payload) > 2000:
        return False
    try:
        ok, _error = altcha.verify_solution_v1(payload, _altcha_key(settings), check_expires=True)
    except Exception:  # malformed payloads must be a refusal, never a 500
        return False
    if not ok:
        return False
    # One use per solution: replaying a solved challenge must cost a new proof of work.
    return limiter.hit(f"altcha:{payload[-64:]}", 1, _ALTCHA_MINUTES * 60).allowed


def nojs_ticket(settings: Settings, now: float) -> str:
    """A signed "asked to wait at" ticket for a form sent without a proof of work."""
    return signer(settings.secret_key, _NOJS_PURPOSE).sign(
        str(int(now)), max_age_seconds=_ALTCHA_MINUTES * 60, now=now
    )


def _waited(settings: Settings, limiter: RateLimiter, ticket: object, now: float) -> Check:
    """OK once the ticket's wait has passed (once per ticket); WAIT again with a fresh one
    when there is no ticket or it is no longer valid; WAIT with the same one when too soon."""
    wait = settings.nojs_wait_seconds
    if isinstance(ticket, str) and 0 < len(ticket) <= 200:
        try:
            issued = int(signer(settings.secret_key, _NOJS_PURPOSE).verify(ticket, now=now))
        except (InvalidToken, ValueError):
            issued = None
        if issued is not None:
            remaining = issued + wait - now
            if remaining > 0:
                return Check(Verdict.WAIT, "waiting", _wait_message(remaining), int(remaining) + 1,
                             ticket)  # fmt: skip
            if limiter.hit(f"nojs:{ticket[-43:]}", 1, _ALTCHA_MINUTES * 60).allowed:
                return PASSED
    return Check(
        Verdict.WAIT, "no proof of work", _wait_message(wait), int(wait), nojs_ticket(settings, now)
    )


def _wait_message(seconds: float) -> str:
    return _(
        "Your browser does not run our anti-spam check (JavaScript is off), so we ask for a "
        "short wait instead: in %(seconds)d seconds, press the button again.",
        seconds=max(1, round(seconds)),
    )


def check_submission(
    settings: Settings,
    limiter: RateLimiter,
    *,
    ip: str,
    fields: dict[str, object],
    stamp_required: bool,
    now: float | None = None,
    without_javascript: bool = False,
) -> Check:
    """Steps 1 to 4 above, on the raw submitted fields.

    ``without_javascript``: a browser form (not the JSON API), which may take the
    no-JavaScript path of step 4 when it carries no proof of work.
    """
    now = now if now is not None else clock.timestamp()
    by_ip = limiter.hit(f"ip:{ip}", settings.rate_limit_ip_per_hour, HOUR)
    if not by_ip.allowed:
        return Check(Verdict.LIMITED, "ip rate limit", _too_many(), by_ip.retry_after)
    if fields.get(HONEYPOT_FIELD):
        return Check(Verdict.DROP, "honeypot")
    stamp = fields.get(STAMP_FIELD)
    if _filled_too_fast(settings, stamp if isinstance(stamp, str) else None, stamp_required, now):
        return Check(Verdict.DROP, "filled too fast")
    payload = fields.get(ALTCHA_FIELD)
    if settings.altcha_enabled and without_javascript and not payload:
        return _waited(settings, limiter, fields.get(NOJS_FIELD), now)
    if settings.altcha_enabled and not _altcha_ok(settings, limiter, payload):
        return Check(
            Verdict.REFUSED,
            "proof of work",
            _(
                "Your browser could not complete the anti-spam check. Please enable JavaScript "
                "and try again."
            ),
        )
    return PASSED


def check_address(settings: Settings, limiter: RateLimiter, address_hash: str) -> Check:
    """Step 5: attempts per address per hour, whatever the address's status."""
    by_address = limiter.hit(f"addr:{address_hash}", settings.rate_limit_address_per_hour, HOUR)
    if not by_address.allowed:
        return Check(Verdict.LIMITED, "address rate limit", _too_many(), by_address.retry_after)
    return PASSED


def _too_many() -> str:
    return _("Too many sign-up attempts. Please wait a while and try again.")
