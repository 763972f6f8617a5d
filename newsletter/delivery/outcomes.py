"""The one place an SMTP reply becomes sent, deferred or failed (invariant `one-reply-classifier`).

Why one module: the status of every Delivery row, the retry backoff and the bounce policy all
follow from this decision. If each caller read reply codes its own way, a 552 "mailbox full" would
suppress a subscriber in one place and be retried in another. Mailers hand every reply (or the
absence of one) to `classify`; everything downstream reads only the `SendResult`.

The rules, first match wins (`RULES` below is the same table, as code):

=================================================  =========  =====================================
reply                                              outcome    why
=================================================  =========  =====================================
no reply (connection refused/dropped, timeout)     deferred   nothing was decided; try again later
2xx                                                sent       the relay took responsibility
4xx                                                deferred   the server says "temporary"
552, or enhanced x.2.2 (mailbox full)              deferred   RFC 5321 4.5.3.1.10: treat as 452;
                                                              a full mailbox empties
enhanced 5.4.5, or text about rate limits,         deferred   big providers throttle with 5xx
  throttling, "try again later", quotas,                      codes; failing would suppress good
  greylisting                                                 addresses
enhanced status 4.x.x under a 5xx code             deferred   the detailed code says "temporary"
other 5xx                                          failed     permanent; recorded as a bounce
anything else (1xx/3xx as a final reply)           deferred   protocol confusion, not a verdict
=================================================  =========  =====================================

Replies that concern the relay rather than the recipient (greeting, EHLO, STARTTLS, AUTH, MAIL
FROM) go through `relay_refused` instead: always deferred, because a wrong password or a sender the
relay does not accept must never be recorded as a bounce against a subscriber.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum


class Outcome(StrEnum):
    """What became of one message; the Delivery row's status follows from it."""

    SENT = "sent"
    DEFERRED = "deferred"
    FAILED = "failed"


# Enhanced status codes (RFC 3463) that mean "this address will never take mail".
# Deliberately not 5.1.7/5.1.8: those are about *our* sender address.
ADDRESS_GONE_STATUSES = frozenset({"5.1.0", "5.1.1", "5.1.2", "5.1.3", "5.1.6", "5.1.10"})
# Enhanced codes under a 5xx that are still temporary: mailbox full, system congestion (Gmail
# also uses 5.4.5 for "daily sending quota exceeded").
TEMPORARY_5XX_STATUSES = frozenset({"5.2.2", "5.4.5"})
THROTTLING_TEXT = re.compile(
    r"rate[ -]?limit|throttl|try (again )?later|too many (messages|mails|emails|connections"
    r"|requests|sessions)|temporar(y|ily)|quota exceeded|over quota|sending limit"
    r"|gr[ae]ylist|slow down",
    re.IGNORECASE,
)
# Used only when the server gave no enhanced status code.
NO_SUCH_USER_TEXT = re.compile(
    r"no such (user|mailbox|recipient|account)|user(name)? unknown|unknown (user|recipient"
    r"|mailbox)|(mailbox|account|address|user) (does not|doesn't) exist",
    re.IGNORECASE,
)
_ENHANCED_AT_LINE_START = re.compile(r"^\W{0,2}([245]\.\d{1,3}\.\d{1,3})(?![.\d])", re.MULTILINE)
_ENHANCED_ANYWHERE = re.compile(r"(?<![.\d])([245]\.\d{1,3}\.\d{1,3})(?![.\d])")


@dataclass(frozen=True)
class SendResult:
    """One message's outcome with the reply that decided it (stored as the Delivery's reason).

    `text` may contain the recipient's address (servers echo it): store it, never log it.
    """

    outcome: Outcome
    code: int | None
    text: str
    enhanced_status: str | None = None
    reason: str = ""

    @property
    def is_permanent_rejection_of_address(self) -> bool:
        """True for "no such user" style refusals: the address itself is dead, suppress it."""
        if self.outcome is not Outcome.FAILED:
            return False
        if self.enhanced_status is not None:
            return self.enhanced_status in ADDRESS_GONE_STATUSES
        return self.code in {550, 551, 553} and bool(NO_SUCH_USER_TEXT.search(self.text))

    @property
    def reply(self) -> str:
        """The reply as one line, e.g. ``550 5.1.1 no such user``, for the Delivery row."""
        return f"{self.code} {self.text}".strip() if self.code is not None else self.text


@dataclass(frozen=True)
class Rule:
    """One row of the classification table."""

    outcome: Outcome
    reason: str
    applies: Callable[[int | None, str | None, str], bool]


def _is_throttling(enhanced: str | None, text: str) -> bool:
    return enhanced in TEMPORARY_5XX_STATUSES or bool(THROTTLING_TEXT.search(text))


RULES: tuple[Rule, ...] = (
    Rule(Outcome.DEFERRED, "no reply (connection error or timeout)", lambda c, e, t: c is None),
    Rule(Outcome.SENT, "accepted", lambda c, e, t: c is not None and 200 <= c < 300),
    Rule(Outcome.DEFERRED, "temporary failure", lambda c, e, t: c is not None and 400 <= c < 500),
    Rule(Outcome.DEFERRED, "mailbox full", lambda c, e, t: c == 552 or e == "5.2.2"),
    Rule(Outcome.DEFERRED, "throttled by the server", lambda c, e, t: _is_throttling(e, t)),
    Rule(Outcome.DEFERRED, "enhanced status is 4.x.x", lambda c, e, t: (e or "")[:1] == "4"),
    Rule(Outcome.FAILED, "permanent failure", lambda c, e, t: c is not None and 500 <= c < 600),
    Rule(Outcome.DEFERRED, "unexpected reply", lambda c, e, t: True),
)


def parse_enhanced_status(code: int | None, text: str) -> str | None:
    """The RFC 3463 status (``5.1.1``) in a reply's text, if the server gave one.

    Looked for at the start of a line first (where RFC 2034 puts it); elsewhere in the text only
    when its class matches the reply code, so a version number is not mistaken for a status.
    """
    found = _ENHANCED_AT_LINE_START.search(text)
    if found:
        return found.group(1)
    if code is not None:
        for candidate in _ENHANCED_ANYWHERE.findall(text):
            if candidate[0] == str(code)[0]:
                return candidate
    return None


def _decode(text: str | bytes) -> str:
    return text.decode("utf-8", errors="replace") if isinstance(text, bytes) else text


def classify(code: int | None, text: str | bytes) -> SendResult:
    """Classify the reply to one message (RCPT or DATA stage) by the table above."""
    text = _decode(text)
    enhanced = parse_enhanced_status(code, text)
    text = " ".join(text.split())  # one line: multi-line replies are joined
    for rule in RULES:
        if rule.applies(code, enhanced, text):
            return SendResult(rule.outcome, code, text, enhanced, rule.reason)
    raise AssertionError("the last rule matches every reply")  # pragma: no cover


RELAY_REFUSED = "relay refused"


def relay_refused(code: int | None, text: str | bytes, stage: str) -> SendResult:
    """A refusal before any recipient was named (greeting, TLS, AUTH, MAIL FROM): deferred.

    Such a reply says the relay will not work with us right now (bad credentials, sender not
    allowed, TLS misconfigured); every message would get it, so none is the recipient's fault.
    """
    text = _decode(text)
    enhanced = parse_enhanced_status(code, text)
    reason = f"{RELAY_REFUSED} at {stage}, not the recipient's fault"
    return SendResult(Outcome.DEFERRED, code, " ".join(text.split()), enhanced, reason)
