"""The SMTP and outbox mailers, against a real aiosmtpd server and a real folder."""

from __future__ import annotations

import dataclasses
import os
import re
import socket
import time
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path

import pytest

from newsletter.config import SmtpTarget, load_settings
from newsletter.delivery.mailers import (
    MailerUnavailable,
    OutboxMailer,
    SmtpMailer,
    make_mailer,
)
from newsletter.delivery.outcomes import Outcome
from tests.smtp_server import SmtpTestServer

SENDER = "bounces+42@bounces.example.org"
READER = "reader@example.org"


def make_message(to: str = READER, subject: str = "Statement", body: str = "Hello.\n") -> bytes:
    message = EmailMessage(policy=SMTP_POLICY)
    message["From"] = "Coalition <news@example.org>"
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    return message.as_bytes()


@pytest.fixture(params=["one command at a time", "pipelined"])
def smtp_server(request: pytest.FixtureRequest) -> Iterator[SmtpTestServer]:
    """Every relay behaviour below is checked with and without PIPELINING offered."""
    with SmtpTestServer(pipelining=request.param == "pipelined") as server:
        yield server


@pytest.fixture
def mailer(smtp_server: SmtpTestServer) -> Iterator[SmtpMailer]:
    with SmtpMailer(smtp_server.target(timeout=5)) as mailer:
        yield mailer


# -- one persistent connection --------------------------------------------------------------


def test_fifty_messages_go_over_one_connection(
    smtp_server: SmtpTestServer, mailer: SmtpMailer
) -> None:
    results = [
        mailer.send(SENDER, [f"reader{i}@example.org"], make_message(subject=f"n{i}"))
        for i in range(50)
    ]

    assert {result.outcome for result in results} == {Outcome.SENT}
    received = smtp_server.wait_for(50)
    assert [m.message["Subject"] for m in received] == [f"n{i}" for i in range(50)]
    assert smtp_server.connections == 1
    assert mailer.connections_opened == 1


def test_message_bytes_and_envelope_arrive_unchanged(
    smtp_server: SmtpTestServer, mailer: SmtpMailer
) -> None:
    message = make_message(body="First line.\n.A line starting with a dot\n")

    result = mailer.send(SENDER, [READER], message)

    assert (result.outcome, result.code) == (Outcome.SENT, 250)
    [received] = smtp_server.wait_for(1)
    assert received.data == message
    assert (received.mail_from, received.rcpt_tos) == (SENDER, (READER,))
    assert received.message.get_content().splitlines() == [
        "First line.",
        ".A line starting with a dot",
    ]


def test_international_address_is_sent_with_smtputf8(
    smtp_server: SmtpTestServer, mailer: SmtpMailer
) -> None:
    result = mailer.send(SENDER, ["zoë@example.org"], make_message(to="zoë@example.org"))

    assert result.outcome is Outcome.SENT
    assert smtp_server.wait_for(1)[0].rcpt_tos == ("zoë@example.org",)


def test_line_break_in_an_envelope_address_is_refused_before_sending(
    smtp_server: SmtpTestServer, mailer: SmtpMailer
) -> None:
    with pytest.raises(ValueError, match="line break"):
        mailer.send(SENDER, ["reader@example.org\r\nRCPT TO:<x@evil.example>"], make_message())
    assert smtp_server.connections == 0


# -- dropped connections --------------------------------------------------------------------


def test_dropped_connection_is_reopened_once_and_the_message_still_arrives(
    smtp_server: SmtpTestServer, mailer: SmtpMailer
) -> None:
    assert mailer.send(SENDER, [READER], make_message(subject="before")).outcome is Outcome.SENT
    smtp_server.drop_next(1)

    result = mailer.send(SENDER, [READER], make_message(subject="dropped"))

    assert result.outcome is Outcome.SENT
    received = smtp_server.wait_for(2)
    assert [m.message["Subject"] for m in received] == ["before", "dropped"]
    assert smtp_server.connections == 2
    assert mailer.connections_opened == 2


def test_connection_closed_by_the_relay_while_idle_is_reopened(
    smtp_server: SmtpTestServer, mailer: SmtpMailer
) -> None:
    mailer.send(SENDER, [READER], make_message())
    smtp_server.disconnect_all()
    time.sleep(0.05)

    assert mailer.send(SENDER, [READER], make_message()).outcome is Outcome.SENT
    assert len(smtp_server.wait_for(2)) == 2
    assert mailer.connections_opened == 2


def test_connection_dropped_twice_defers_the_message_without_raising(
    smtp_server: SmtpTestServer, mailer: SmtpMailer
) -> None:
    smtp_server.drop_next(2)

    result = mailer.send(SENDER, [READER], make_message())

    assert (result.outcome, result.code) == (Outcome.DEFERRED, None)
    assert smtp_server.messages == []
    assert mailer.send(SENDER, [READER], make_message()).outcome is Outcome.SENT


# -- replies --------------------------------------------------------------------------------


def test_4xx_on_rcpt_is_deferred_with_its_code(
    smtp_server: SmtpTestServer, mailer: SmtpMailer
) -> None:
    smtp_server.reply_to_rcpt("450 4.2.1 Mailbox busy, try later")

    result = mailer.send(SENDER, [READER], make_message())

    assert (result.outcome, result.code, result.enhanced_status) == (Outcome.DEFERRED, 450, "4.2.1")
    assert smtp_server.messages == []


def test_4xx_on_data_is_deferred_with_its_code(
    smtp_server: SmtpTestServer, mailer: SmtpMailer
) -> None:
    smtp_server.fail_next(1, "451 4.3.0 Local error in processing")

    result = mailer.send(SENDER, [READER], make_message())

    assert (result.outcome, result.code, result.enhanced_status) == (Outcome.DEFERRED, 451, "4.3.0")


def test_5xx_on_data_fails_with_code_and_enhanced_status(
    smtp_server: SmtpTestServer, mailer: SmtpMailer
) -> None:
    smtp_server.fail_next(1, "554 5.7.9 Message not accepted for policy reasons")

    result = mailer.send(SENDER, [READER], make_message())

    assert (result.outcome, result.code, result.enhanced_status) == (Outcome.FAILED, 554, "5.7.9")
    assert not result.is_permanent_rejection_of_address


def test_550_5_1_1_on_rcpt_is_a_permanent_rejection_of_the_address(
    smtp_server: SmtpTestServer, mailer: SmtpMailer
) -> None:
    smtp_server.reply_to_rcpt("550 5.1.1 <reader@example.org>: Recipient address rejected")

    result = mailer.send(SENDER, [READER], make_message())

    assert (result.outcome, result.code, result.enhanced_status) == (Outcome.FAILED, 550, "5.1.1")
    assert result.is_permanent_rejection_of_address
    assert result.reply.startswith("550 5.1.1")


def test_552_mailbox_full_is_deferred(smtp_server: SmtpTestServer, mailer: SmtpMailer) -> None:
    smtp_server.reply_to_rcpt("552 5.2.2 Mailbox full")

    result = mailer.send(SENDER, [READER], make_message())

    assert (result.outcome, result.code) == (Outcome.DEFERRED, 552)


def test_throttling_554_on_data_is_deferred(
    smtp_server: SmtpTestServer, mailer: SmtpMailer
) -> None:
    smtp_server.fail_next(1, "554 5.7.1 Rate limit exceeded, try again later")

    assert mailer.send(SENDER, [READER], make_message()).outcome is Outcome.DEFERRED


def test_refusal_of_one_address_leaves_the_connection_usable_for_the_next(
    smtp_server: SmtpTestServer, mailer: SmtpMailer
) -> None:
    smtp_server.reply_to_rcpt(lambda a: "550 5.1.1 no such user" if a.startswith("gone") else None)
    smtp_server.fail_next(1, "451 4.3.0 try again")

    outcomes = [
        mailer.send(SENDER, [to], make_message(to=to)).outcome
        for to in ["gone@example.org", "a@example.org", "b@example.org", "gone2@example.org"]
    ]

    assert outcomes == [Outcome.FAILED, Outcome.DEFERRED, Outcome.SENT, Outcome.FAILED]
    assert [m.rcpt_tos for m in smtp_server.wait_for(1)] == [("b@example.org",)]
    assert smtp_server.connections == 1


def test_sender_refused_is_deferred_and_not_an_address_failure(
    smtp_server: SmtpTestServer, mailer: SmtpMailer
) -> None:
    smtp_server.reply_to_mail("553 5.7.1 Sender address not owned by user")

    result = mailer.send(SENDER, [READER], make_message())

    assert (result.outcome, result.code) == (Outcome.DEFERRED, 553)
    assert not result.is_permanent_rejection_of_address


# -- timeouts and unreachable relays --------------------------------------------------------


def test_stalled_server_defers_within_the_timeout_instead_of_hanging(
    smtp_server: SmtpTestServer,
) -> None:
    mailer = SmtpMailer(smtp_server.target(timeout=1))
    mailer.send(SENDER, [READER], make_message())
    smtp_server.stall(10)

    started = time.monotonic()
    result = mailer.send(SENDER, [READER], make_message())
    elapsed = time.monotonic() - started

    assert (result.outcome, result.code) == (Outcome.DEFERRED, None)
    assert 0.9 < elapsed < 1.9  # one timeout, not retried into a second one
    smtp_server.stall(0)
    assert mailer.send(SENDER, [READER], make_message()).outcome is Outcome.SENT
    assert mailer.connections_opened == 2
    mailer.close()


def test_server_that_never_greets_defers_within_the_timeout() -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts via backlog, never speaks
        target = SmtpTarget("127.0.0.1", silent.getsockname()[1], "none", timeout=1.0)
        started = time.monotonic()
        result = SmtpMailer(target).send(SENDER, [READER], make_message())

    assert result.outcome is Outcome.DEFERRED
    assert time.monotonic() - started < 1.9


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return probe.getsockname()[1]


def test_unreachable_relay_defers_the_batch_without_raising_or_retrying_each_message(
    smtp_server: SmtpTestServer,
) -> None:
    target = dataclasses.replace(smtp_server.target(), port=free_port())
    mailer = SmtpMailer(target, reconnect_backoff=60)

    results = [mailer.send(SENDER, [READER], make_message()) for _ in range(3)]

    assert {r.outcome for r in results} == {Outcome.DEFERRED}
    assert "relay" in results[0].reason
    assert mailer.connections_opened == 0


def test_open_raises_mailer_unavailable_when_the_relay_is_down(
    smtp_server: SmtpTestServer,
) -> None:
    mailer = SmtpMailer(dataclasses.replace(smtp_server.target(), port=free_port()))

    with pytest.raises(MailerUnavailable) as raised:
        mailer.open()

    assert raised.value.result.outcome is Outcome.DEFERRED


# -- TLS and AUTH ---------------------------------------------------------------------------

ServerFactory = Callable[..., SmtpTestServer]


def test_starttls_with_auth_delivers_the_message(smtp_server_factory: ServerFactory) -> None:
    server = smtp_server_factory(security="starttls", credentials=("news", "s3cret:/@"))
    assert server.url.startswith("smtp+starttls://news:s3cret%3A%2F%40@127.0.0.1:")

    with SmtpMailer(server.target()) as mailer:
        results = [mailer.send(SENDER, [READER], make_message()) for _ in range(3)]

    assert {r.outcome for r in results} == {Outcome.SENT}
    assert len(server.wait_for(3)) == 3
    assert server.logins == ["news"]
    assert server.connections == 1


def test_wrong_password_defers_and_is_never_a_bounce(smtp_server_factory: ServerFactory) -> None:
    server = smtp_server_factory(security="starttls", credentials=("news", "right"))
    target = dataclasses.replace(server.target(), password="wrong")

    result = SmtpMailer(target).send(SENDER, [READER], make_message())

    assert (result.outcome, result.code) == (Outcome.DEFERRED, 535)
    assert not result.is_permanent_rejection_of_address
    assert server.messages == []


def test_implicit_tls_with_auth_delivers_the_message(smtp_server_factory: ServerFactory) -> None:
    server = smtp_server_factory(security="tls", credentials=("news", "pw"))
    assert server.url.startswith("smtps://")

    with SmtpMailer(server.target()) as mailer:
        assert mailer.send(SENDER, [READER], make_message()).outcome is Outcome.SENT

    assert server.wait_for(1)[0].rcpt_tos == (READER,)
    assert server.logins == ["news"]


def test_certificate_verification_refuses_a_self_signed_relay(
    smtp_server_factory: ServerFactory,
) -> None:
    server = smtp_server_factory(security="starttls")

    result = SmtpMailer(server.target(verify=True)).send(SENDER, [READER], make_message())

    assert result.outcome is Outcome.DEFERRED
    assert "CERTIFICATE_VERIFY_FAILED" in result.text
    assert server.messages == []


def test_starttls_not_offered_defers_rather_than_sending_in_clear(
    smtp_server: SmtpTestServer,
) -> None:
    target = dataclasses.replace(smtp_server.target(), security="starttls")

    result = SmtpMailer(target).send(SENDER, [READER], make_message())

    assert result.outcome is Outcome.DEFERRED
    assert "STARTTLS" in result.reason
    assert smtp_server.messages == []


# -- outbox ---------------------------------------------------------------------------------

OUTBOX_NAME = re.compile(r"^\d{8}T\d{6}\.\d{6}Z-[0-9a-f]{16}\.eml$")


def test_outbox_writes_one_file_per_message_and_no_temporary_files(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"

    with OutboxMailer(outbox) as mailer:
        results = [mailer.send(SENDER, [READER], make_message(subject=f"n{i}")) for i in range(5)]

    assert {(r.outcome, r.code) for r in results} == {(Outcome.SENT, 250)}
    names = sorted(os.listdir(outbox))
    assert len(names) == 5
    assert all(OUTBOX_NAME.match(name) for name in names)


def test_outbox_file_is_the_message_with_the_envelope_prepended(tmp_path: Path) -> None:
    message = make_message(body="Line one.\n.dot line\n")

    OutboxMailer(tmp_path).send(SENDER, [READER, "second@example.org"], message)

    [path] = tmp_path.glob("*.eml")
    envelope = (
        f"X-Envelope-From: <{SENDER}>\r\n"
        f"X-Envelope-To: <{READER}>\r\nX-Envelope-To: <second@example.org>\r\n"
    )
    assert path.read_bytes() == envelope.encode() + message


def test_outbox_write_failure_defers_and_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)

    result = OutboxMailer(tmp_path).send(SENDER, [READER], make_message())

    assert (result.outcome, result.code) == (Outcome.DEFERRED, None)
    assert os.listdir(tmp_path) == []


# -- choosing a mailer ----------------------------------------------------------------------


def test_make_mailer_uses_smtp_when_a_relay_is_configured(
    tmp_path: Path, smtp_server: SmtpTestServer
) -> None:
    settings = load_settings(_env_file=None, data_dir=tmp_path, smtp_url=smtp_server.url)

    with make_mailer(settings) as mailer:
        assert isinstance(mailer, SmtpMailer)
        assert mailer.send(SENDER, [READER], make_message()).outcome is Outcome.SENT
    assert len(smtp_server.wait_for(1)) == 1


def test_make_mailer_uses_the_outbox_without_a_relay(tmp_path: Path) -> None:
    settings = load_settings(_env_file=None, data_dir=tmp_path, smtp_url=None)

    with make_mailer(settings) as mailer:
        assert isinstance(mailer, OutboxMailer)
        mailer.send(SENDER, [READER], make_message())
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1
