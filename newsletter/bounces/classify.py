"""What a delivery failure says about the address: hard, soft, or our own problem.

Why one module: a DSN, an SMTP-time rejection and a provider webhook all carry the same
RFC 3463 status and a free-text diagnostic. If each source read them its own way, a DMARC
rejection would suppress a good address through one path and raise a staff warning through
another. Every source asks `kind_for_status`; the table below is the rule, first match wins.

==========================================  ===============  ==================================
status / diagnostic                         kind             why
==========================================  ===============  ==================================
5.1.7, 5.1.8 (bad *sender* address)         sender_problem   our envelope sender, not them
5.1.x, 5.2.1, 5.4.4 (no such user/domain,   hard             the address will never take mail
  mailbox disabled, unroutable domain)
diagnostic says DMARC, SPF, DKIM, spam,     sender_problem   the receiver refuses *us*: fix
  blocklist, reputation, policy (any class)                  authentication or reputation
4.x.x                                       soft             temporary
5.7.x (security/policy)                     sender_problem   same, without the words
5.3.4, 5.2.3, 5.6.x (size, content)         sender_problem   the message, not the mailbox
5.x.x with "no such user" style text        hard             servers without precise codes
5.2.2, 5.4.5, other 5.x.x                   soft             may recover: counted, decaying
no status and no verdict text               soft             a failure we cannot read
==========================================  ===============  ==================================

A delivery whose retries ran out (`kind_for_expiry`, RFC 3463 4.4.7 "delivery time expired") is a
soft bounce when the last reply came from the recipient's side (mailbox full, greylisting,
their server down), and a sender problem (a staff warning, never counted against the person)
when it came from our side: no answer from our relay, our relay refusing us, a 421 closing the
session, throttling, or a reason the table reads as ours.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from newsletter.bounces.models import BounceKind
from newsletter.delivery.outcomes import NO_SUCH_USER_TEXT

SENDER_ADDRESS_STATUSES = frozenset({"5.1.7", "5.1.8"})
HARD_STATUSES = frozenset({"5.1.0", "5.1.1", "5.1.2", "5.1.3", "5.1.6", "5.1.10", "5.2.1", "5.4.4"})
SENDER_SIDE_TEXT = re.compile(
    r"\bdmarc\b|\bspf\b|\bdkim\b|\bspam|block ?list|black ?list|\bblocked\b|\brbl\b"
    r"|spamhaus|spamcop|barracuda|reputation|\bpolicy\b|not authori[sz]ed to send"
    r"|unauthenticated|authentication (failed|required)|banned sending ip"
    r"|rejected for policy|junk mail|bulk mail|too many (recipients|messages|connections)"
    r"|(rate|sending) limit|exceeded (the )?(rate|sending)|sender (address )?rejected"
    r"|relay(ing)? (access )?denied|not permitted to relay|greylist|reverse (dns|hostname)"
    r"|\bptr\b|sender verify",
    re.IGNORECASE,
)
# A mailbox that may take mail again, or a failure the sender says is temporary.
SOFT_TEXT = re.compile(
    r"mailbox (is )?full|over ?quota|quota exceeded|exceeded (the )?(storage|quota)"
    r"|insufficient (system )?storage|try again|retry (timeout|time) exceeded|retries exhausted"
    r"|delivery time expired|message expired|mail loop|loops back to myself|too many hops",
    re.IGNORECASE,
)
# What servers without precise status codes say about a dead address (qmail, old Exchange).
EXTRA_NO_SUCH_USER_TEXT = re.compile(
    r"no mailbox here|(user|recipient|mailbox|address) not found|invalid (recipient|mailbox)"
    r"|account (has been )?(disabled|closed|deactivated)|(user|address) (does not|doesn't) have an?"
    r" ([\w.-]+ )?account|no such person|unknown address|not listed in (the )?(domino|public)"
    r"|does not exist|host (or domain name )?not found",
    re.IGNORECASE,
)
_STATUS = re.compile(r"^[245]\.\d{1,3}\.\d{1,3}$")


def normalise_status(status: str | None) -> str | None:
    """An RFC 3463 status such as ``5.1.1`` (leading zeros dropped), or None."""
    if not status:
        return None
    candidate = status.strip().split()[0] if status.strip() else ""
    if not _STATUS.match(candidate):
        return None
    return ".".join(str(int(part)) for part in candidate.split("."))


@dataclass(frozen=True)
class Rule:
    kind: BounceKind
    why: str
    applies: Callable[[str | None, str], bool]


def _cls(status: str | None) -> str:
    return (status or "")[:1]


def _sub(status: str | None) -> str:
    return ".".join((status or "").split(".")[:2])


def _says_no_such_user(status: str | None, text: str) -> bool:
    if _cls(status) == "4":
        return False
    return bool(NO_SUCH_USER_TEXT.search(text) or EXTRA_NO_SUCH_USER_TEXT.search(text))


RULES: tuple[Rule, ...] = (
    Rule(
        BounceKind.SENDER_PROBLEM, "bad sender address", lambda s, t: s in SENDER_ADDRESS_STATUSES
    ),
    # Clear wording outranks the status code: servers put 5.1.1 on blocklist and rate-limit
    # rejections, and 5.x on a full mailbox; suppressing on the code alone loses a supporter.
    Rule(
        BounceKind.SENDER_PROBLEM,
        "receiver refuses our sending (authentication, reputation, policy)",
        lambda s, t: bool(SENDER_SIDE_TEXT.search(t)),
    ),
    Rule(
        BounceKind.SOFT, "mailbox full or temporary wording", lambda s, t: bool(SOFT_TEXT.search(t))
    ),
    Rule(BounceKind.HARD, "address does not exist", lambda s, t: s in HARD_STATUSES),
    Rule(BounceKind.SOFT, "temporary status", lambda s, t: _cls(s) == "4"),
    Rule(BounceKind.SENDER_PROBLEM, "security or policy status", lambda s, t: _sub(s) == "5.7"),
    Rule(
        BounceKind.SENDER_PROBLEM,
        "message size or content",
        lambda s, t: s in {"5.3.4", "5.2.3"} or _sub(s) == "5.6",
    ),
    Rule(BounceKind.HARD, "no-such-user text", _says_no_such_user),
    Rule(BounceKind.SOFT, "other failure, may recover", lambda s, t: True),
)


def kind_for_status(status: str | None, diagnostic: str = "") -> BounceKind:
    """The bounce kind of a failed delivery, by the table above."""
    normalised = normalise_status(status)
    text = " ".join(diagnostic.split())
    for rule in RULES:
        if rule.applies(normalised, text):
            return rule.kind
    raise AssertionError("the last rule matches every failure")  # pragma: no cover


EXPIRED_STATUS = "4.4.7"
RELAY_SIDE_TEXT = re.compile(
    r"rate[ -]?limit|throttl|too many (messages|mails|emails|connections|requests|sessions)"
    r"|quota exceeded|sending limit|slow down",
    re.IGNORECASE,
)


def kind_for_expiry(
    code: int | None, status: str | None, diagnostic: str, *, relay_refused: bool
) -> BounceKind:
    """The bounce kind of a delivery deferred until its retry deadline (see the module doc)."""
    if code is None or code == 421 or relay_refused or RELAY_SIDE_TEXT.search(diagnostic):
        return BounceKind.SENDER_PROBLEM
    kind = kind_for_status(status or EXPIRED_STATUS, diagnostic)
    return BounceKind.SENDER_PROBLEM if kind == BounceKind.SENDER_PROBLEM else BounceKind.SOFT
