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
