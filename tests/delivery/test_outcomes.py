"""The classification table of SMTP replies (invariant `one-reply-classifier`), as pure cases."""

from __future__ import annotations

import pytest

from newsletter.delivery.outcomes import (
    Outcome,
    classify,
    parse_enhanced_status,
    relay_refused,
)


@pytest.mark.parametrize(
    ("code", "text", "expected"),
    [
        (250, "2.0.0 OK: queued as 4XyZ", Outcome.SENT),
        (251, "User not local; will forward", Outcome.SENT),
        (421, "4.7.0 Too many connections", Outcome.DEFERRED),
        (450, "4.2.1 Mailbox busy", Outcome.DEFERRED),
        (451, "4.3.0 Local error in processing", Outcome.DEFERRED),
        (452, "4.5.3 Too many recipients", Outcome.DEFERRED),
        (550, "5.1.1 no such user", Outcome.FAILED),
        (550, "5.7.1 Message rejected as spam", Outcome.FAILED),
        (553, "5.1.3 Bad recipient address syntax", Outcome.FAILED),
        (554, "5.7.9 Message not accepted for policy reasons", Outcome.FAILED),
        (None, "Connection unexpectedly closed", Outcome.DEFERRED),
        (None, "timed out", Outcome.DEFERRED),
    ],
)
def test_reply_classes_map_to_sent_deferred_failed(
    code: int | None, text: str, expected: Outcome
) -> None:
    assert classify(code, text).outcome is expected


@pytest.mark.parametrize(
    "text",
    ["5.2.2 Mailbox full", "Requested mail action aborted: exceeded storage allocation", ""],
)
def test_552_is_deferred_because_a_full_mailbox_empties(text: str) -> None:
    result = classify(552, text)
    assert result.outcome is Outcome.DEFERRED
    assert result.reason == "mailbox full"


def test_enhanced_status_mailbox_full_under_550_is_deferred() -> None:
    assert classify(550, "5.2.2 The email account is over quota").outcome is Outcome.DEFERRED


@pytest.mark.parametrize(
    ("code", "text"),
    [
        (554, "5.7.1 Rate limit exceeded, try again later"),
        (550, "5.7.1 Message throttled due to too many messages"),
        (550, "5.4.5 Daily user sending quota exceeded"),
        (554, "Service temporarily unavailable"),
        (550, "Greylisted, please try again in 5 minutes"),
        (550, "Too many connections from your IP"),
    ],
)
def test_throttling_5xx_replies_are_deferred_not_failed(code: int, text: str) -> None:
    result = classify(code, text)
    assert result.outcome is Outcome.DEFERRED
    assert not result.is_permanent_rejection_of_address


def test_5xx_with_a_temporary_enhanced_status_is_deferred() -> None:
    assert classify(550, "4.7.1 Please slow your sending").outcome is Outcome.DEFERRED


@pytest.mark.parametrize("code", [199, 354, 600])
def test_unexpected_final_reply_is_deferred_not_counted_as_sent(code: int) -> None:
    assert classify(code, "odd").outcome is Outcome.DEFERRED


@pytest.mark.parametrize(
    ("code", "text"),
    [
        (550, "5.1.1 <x@example.org>: Recipient address rejected: User unknown"),
        (550, "5.1.0 Address rejected"),
        (550, "5.1.10 Recipient address has null MX"),
        (550, "#5.1.1 smtp;550 5.1.1 RESOLVER.ADR.RecipNotFound; not found"),
        (550, "Requested action not taken: mailbox unavailable (5.1.1)"),
        (550, "No such user here"),
        (550, "User unknown in virtual mailbox table"),
    ],
)
def test_no_such_user_replies_are_permanent_rejections_of_the_address(code: int, text: str) -> None:
    result = classify(code, text)
    assert result.outcome is Outcome.FAILED
    assert result.is_permanent_rejection_of_address


@pytest.mark.parametrize(
    ("code", "text"),
    [
        (550, "5.7.1 Message rejected as spam"),
        (550, "5.1.8 Sender address rejected: Domain not found"),
        (554, "Transaction failed"),
        (450, "4.1.1 Recipient address rejected: temporarily unverifiable"),
        (250, "OK"),
    ],
)
def test_other_replies_are_not_address_rejections(code: int, text: str) -> None:
    assert not classify(code, text).is_permanent_rejection_of_address


def test_enhanced_status_is_parsed_from_the_reply_text() -> None:
    result = classify(550, b"5.1.1 The email account that you tried to reach does not exist.")
    assert result.code == 550
    assert result.enhanced_status == "5.1.1"
    assert result.reply == "550 5.1.1 The email account that you tried to reach does not exist."


def test_multi_line_reply_becomes_one_line_and_keeps_its_status() -> None:
    result = classify(550, "5.1.1 The account does not exist.\n5.1.1 Please check the address")
    assert result.enhanced_status == "5.1.1"
    assert "\n" not in result.text


@pytest.mark.parametrize(
    ("code", "text", "expected"),
    [
        (250, "2.0.0 Ok", "2.0.0"),
        (550, "no enhanced code here", None),
        (550, "server version 2.4.1 says no", None),
        (451, "try 4.4.1 later", "4.4.1"),
    ],
)
def test_enhanced_status_parsing(code: int, text: str, expected: str | None) -> None:
    assert parse_enhanced_status(code, text) == expected


@pytest.mark.parametrize(("code", "stage"), [(535, "AUTH"), (553, "MAIL FROM"), (None, "connect")])
def test_relay_refusals_are_deferred_never_a_bounce(code: int | None, stage: str) -> None:
    result = relay_refused(code, "5.7.8 Authentication credentials invalid", stage)
    assert result.outcome is Outcome.DEFERRED
    assert not result.is_permanent_rejection_of_address
    assert stage in result.reason
