"""Status codes and diagnostics become the right kind of bounce."""

import pytest

from newsletter.bounces.classify import kind_for_status, normalise_status
from newsletter.bounces.models import BounceKind


@pytest.mark.parametrize(
    ("status", "diagnostic", "kind"),
    [
        ("5.1.1", "smtp; 550 5.1.1 <x@example.org>: Recipient address rejected", BounceKind.HARD),
        ("5.1.10", "RESOLVER.ADR.RecipientNotFound; Recipient not found", BounceKind.HARD),
        ("5.2.1", "The email account that you tried to reach is disabled", BounceKind.HARD),
        ("5.4.4", "Host or domain name not found", BounceKind.HARD),
        ("4.2.2", "Mailbox full", BounceKind.SOFT),
        ("5.2.2", "mailbox full", BounceKind.SOFT),
        ("4.4.1", "connection timed out", BounceKind.SOFT),
        (
            "5.7.26",
            "Unauthenticated email from example.org is not accepted due to DMARC",
            BounceKind.SENDER_PROBLEM,
        ),
        (
            "5.7.1",
            "Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org",
            BounceKind.SENDER_PROBLEM,
        ),
        ("5.0.0", "Message rejected as spam", BounceKind.SENDER_PROBLEM),
        (
            "4.7.0",
            "IP not in whitelist, poor reputation, try again later",
            BounceKind.SENDER_PROBLEM,
        ),
        ("5.1.8", "Sender address rejected: Domain not found", BounceKind.SENDER_PROBLEM),
        ("5.3.4", "Message too big for system", BounceKind.SENDER_PROBLEM),
        (None, "Sorry, no mailbox here by that name.", BounceKind.HARD),
        ("5.0.0", "unrouteable mail domain", BounceKind.SOFT),
        (None, "", BounceKind.SOFT),
    ],
)
def test_kind_for_status(status, diagnostic, kind) -> None:
    assert kind_for_status(status, diagnostic) == kind


def test_status_normalisation() -> None:
    assert normalise_status("5.01.001 (no such user)") == "5.1.1"
    assert normalise_status("X-Unix; 67") is None
    assert normalise_status("") is None


# What real servers write when the *sender* is refused, the mailbox is full or the failure is
# temporary, next to a status code that alone would read as "no such user". None of these may
# ever suppress a supporter.
@pytest.mark.parametrize(
    ("status", "diagnostic", "kind"),
    [
        ("5.1.1", "smtp; 550 5.1.1 Service unavailable; client [192.0.2.10] blocked using "
         "b.barracudacentral.org", BounceKind.SENDER_PROBLEM),
        ("5.1.1", "550 5.1.1 Your IP address 192.0.2.10 is listed on our blacklist",
         BounceKind.SENDER_PROBLEM),
        ("5.4.5", "550 5.4.5 Daily user sending limit exceeded.", BounceKind.SENDER_PROBLEM),
        ("5.1.1", "550 5.1.1 <news@coalition.example.org>: sent too many recipients this hour",
         BounceKind.SENDER_PROBLEM),
        ("5.7.23", "550 5.7.23 The message was rejected because of Sender Policy Framework "
         "violation", BounceKind.SENDER_PROBLEM),
        ("5.1.1", "550 5.1.1 Sender rejected", BounceKind.SENDER_PROBLEM),
        ("5.7.1", "554 5.7.1 <x@example.net>: Relay access denied", BounceKind.SENDER_PROBLEM),
        ("4.7.1", "450 4.7.1 Client host rejected: cannot find your reverse hostname",
         BounceKind.SENDER_PROBLEM),
        ("4.2.0", "451 4.2.0 Greylisted, please try again in 180 seconds",
         BounceKind.SENDER_PROBLEM),
        ("5.2.2", "552 5.2.2 <x@example.net>: Recipient address rejected: Mailbox full",
         BounceKind.SOFT),
        (None, "<x@example.net>: Recipient address rejected: over quota", BounceKind.SOFT),
        (None, "Host or domain name not found. Name service error for name=example.net "
         "type=MX: Host not found, try again", BounceKind.SOFT),
        ("5.4.6", "554 5.4.6 Hop count exceeded - possible mail loop", BounceKind.SOFT),
        (None, "retry timeout exceeded", BounceKind.SOFT),
        (None, "550 Requested action not taken: mailbox unavailable", BounceKind.SOFT),
        (None, "554 delivery error: dd This user doesn't have a yahoo.com account "
         "(x@yahoo.com) [0] - mta1.mail.example.yahoo.com", BounceKind.HARD),
        (None, "550 Recipient address rejected: User unknown in virtual mailbox table",
         BounceKind.HARD),
    ],
)  # fmt: skip
def test_clear_wording_outranks_the_status_code(status, diagnostic, kind) -> None:
    assert kind_for_status(status, diagnostic) == kind
