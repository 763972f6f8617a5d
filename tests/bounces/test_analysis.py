"""Real-format bounces, complaints and auto-replies are read as the right finding."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.bounces.analysis import analyse_message, parse_bytes
from newsletter.bounces.attribution import attribute
from newsletter.bounces.models import BounceKind
from tests.bounces.messages import load
from tests.conftest import make_test_settings

RCPT = "amina@example.net"


@pytest.fixture
def settings(tmp_path: Path):
    return make_test_settings(tmp_path)


@pytest.mark.parametrize(
    ("name", "category", "kind", "status"),
    [
        ("postfix_user_unknown.eml", "dsn", BounceKind.HARD, "5.1.1"),
        ("postfix_dmarc_rejected.eml", "dsn", BounceKind.SENDER_PROBLEM, "5.7.26"),
        ("sendmail_mailbox_full.eml", "dsn", BounceKind.SOFT, "5.2.2"),
        ("office365_not_found.eml", "dsn", BounceKind.HARD, "5.1.10"),
        ("exchange_banned_ip.eml", "dsn", BounceKind.SENDER_PROBLEM, "5.7.606"),
        ("gmail_no_such_user.eml", "dsn", BounceKind.HARD, "5.1.1"),
        ("exim_classic.eml", "non_standard", BounceKind.HARD, "5.1.1"),
        ("qmail_no_mailbox.eml", "non_standard", BounceKind.HARD, "5.1.1"),
        ("yahoo_no_account.eml", "non_standard", BounceKind.HARD, None),
        ("arf_abuse.eml", "arf", BounceKind.COMPLAINT, None),
    ],
)
def test_each_format_gives_one_finding_for_the_failed_recipient(
    settings, name, category, kind, status
) -> None:
    raw = load(name, settings, delivery_id=42)
    msg = parse_bytes(raw)
    analysis = analyse_message(msg, raw)
    assert analysis.category == category, analysis.note
    [finding] = analysis.findings
    assert (finding.kind, finding.status) == (kind, status)
    assert finding.recipient is not None and finding.recipient.lower() == RCPT
    assert attribute(settings, msg, raw).delivery_id == 42


@pytest.mark.parametrize(
    "name", ["autoreply_outlook_en.eml", "autoreply_fr_subject.eml", "autoreply_vacation.eml"]
)
def test_auto_replies_are_recognised(settings, name) -> None:
    raw = load(name, settings)
    analysis = analyse_message(parse_bytes(raw), raw)
    assert analysis.category == "auto_reply"
    assert [f.kind for f in analysis.findings] == [BounceKind.AUTO_REPLY]


def test_a_delay_notice_is_not_a_bounce(settings) -> None:
    raw = load("postfix_delayed.eml", settings)
    analysis = analyse_message(parse_bytes(raw), raw)
    assert (analysis.category, analysis.findings) == ("notice", ())
    assert "delayed" in analysis.note


def test_a_redacted_complaint_is_attributed_by_the_list_unsubscribe_token(settings) -> None:
    raw = load("arf_redacted.eml", settings, public_id="ab" * 16)
    msg = parse_bytes(raw)
    analysis = analyse_message(msg, raw)
    assert analysis.category == "arf"
    [finding] = analysis.findings
    assert finding.kind == BounceKind.COMPLAINT and finding.recipient is None
    attribution = attribute(settings, msg, raw)
    assert (attribution.delivery_id, attribution.subscriber_public_id) == (None, "ab" * 16)


def test_a_forged_verp_token_attributes_nothing(settings, tmp_path) -> None:
    other = make_test_settings(tmp_path, secret_key="another-secret-key-0123456789abcdef0123")
    raw = load("postfix_user_unknown.eml", other, delivery_id=42)
    assert not attribute(settings, parse_bytes(raw), raw).found


def test_a_human_reply_is_unknown(settings) -> None:
    raw = load("human_reply.eml", settings)
    assert analyse_message(parse_bytes(raw), raw).category == "unknown"


@pytest.mark.parametrize("name", ["exim_delay_warning.eml", "dsn_delayed_in_mixed.eml"])
def test_a_delay_warning_in_any_shape_counts_against_nobody(settings, name) -> None:
    """Exim's "delayed 24 hours" text and a DSN wrapped in multipart/mixed: still trying."""
    raw = load(name, settings, delivery_id=42)
    analysis = analyse_message(parse_bytes(raw), raw)
    assert analysis.category == "notice", analysis.note
    assert analysis.findings == ()


def test_a_permanent_failure_for_a_full_mailbox_is_soft(settings) -> None:
    """Exim calls a full mailbox whose retries ran out "a permanent error": not a dead address."""
    raw = load("exim_quota_exhausted.eml", settings, delivery_id=42)
    analysis = analyse_message(parse_bytes(raw), raw)
    [finding] = analysis.findings
    assert finding.kind == BounceKind.SOFT, finding
    assert finding.recipient is not None and finding.recipient.lower() == RCPT
