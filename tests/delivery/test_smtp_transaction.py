"""The pipelined SMTP transaction, against postfix's real smtp-sink (which offers PIPELINING).

The relay behaviours (4xx/5xx at each command, drops, stalls) are covered for both the pipelined
and the one-command-at-a-time path in test_mailers.py; here: dot-stuffing and line ends, and a
real Postfix-family server's reading of pipelined commands and its refusals.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from newsletter.config import SmtpTarget
from newsletter.delivery.mailers import SmtpMailer
from newsletter.delivery.outcomes import Outcome
from newsletter.delivery.smtp_transaction import dot_stuffed

SINK = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
SENDER = "bounces+7@bounces.example.org"


def test_dot_stuffing_doubles_leading_dots_and_ends_the_data() -> None:
    stuffed = dot_stuffed(b".first\r\nplain\r\n.\r\n..two")
    assert stuffed == b"..first\r\nplain\r\n..\r\n...two\r\n.\r\n"


def test_bare_line_ends_become_crlf_so_a_smuggled_end_of_data_stays_text() -> None:
    smuggled = b"Subject: x\r\n\r\nhello\n.\nMAIL FROM:<evil@example.org>\r\n"
    stuffed = dot_stuffed(smuggled)
    assert b"\r\n.\r\n" not in stuffed[:-5]  # the only end-of-data is ours
    assert stuffed == b"Subject: x\r\n\r\nhello\r\n..\r\nMAIL FROM:<evil@example.org>\r\n.\r\n"
    assert dot_stuffed(b"a\rb") == b"a\r\nb\r\n.\r\n"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


SinkFactory = Callable[..., tuple[SmtpTarget, Path]]


@pytest.fixture
def smtp_sink() -> Iterator[SinkFactory]:
    """Start ``smtp-sink`` on loopback, dumping each message to a file; extra flags refuse."""
    if not Path(SINK).exists():
        pytest.skip("postfix's smtp-sink is not installed (scripts/test installs it)")
    started: list[subprocess.Popen[bytes]] = []
    # smtp-sink drops to "nobody" when started as root: the dump folder must be reachable by it,
    # which pytest's private tmp_path is not.
    root = Path(tempfile.mkdtemp(prefix="smtp-sink-"))
    root.chmod(0o777)

    def start(*flags: str) -> tuple[SmtpTarget, Path]:
        dump = root / f"dump{len(started)}"
        dump.mkdir()
        dump.chmod(0o777)
        user = ["-u", "nobody"] if os.geteuid() == 0 else []
        port = _free_port()
        argv = [SINK, *user, "-d", f"{dump}/%H%M%S.", *flags, f"127.0.0.1:{port}", "64"]
        started.append(subprocess.Popen(argv, stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 5
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        return SmtpTarget("127.0.0.1", port, "none", timeout=5), dump

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=5)
    shutil.rmtree(root, ignore_errors=True)


def _dumped(dump: Path, count: int) -> list[bytes]:
    deadline = time.monotonic() + 5
    while len(list(dump.iterdir())) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    return [path.read_bytes() for path in sorted(dump.iterdir())]


def _message(index: int) -> bytes:
    return (
        f"From: news@example.org\r\nTo: r{index}@example.org\r\nSubject: n{index}\r\n\r\n"
        f".a line that starts with a dot\r\n..and two\r\nend {index}\r\n"
    ).encode()


def test_pipelined_messages_arrive_whole_with_their_dots(smtp_sink: SinkFactory) -> None:
    target, dump = smtp_sink()
    with SmtpMailer(target) as mailer:
        results = [mailer.send(SENDER, [f"r{i}@example.org"], _message(i)) for i in range(50)]
        assert mailer._smtp is not None and mailer._smtp.has_extn("pipelining")
        assert mailer.connections_opened == 1
    assert {result.outcome for result in results} == {Outcome.SENT}
    dumped = _dumped(dump, 50)
    assert len(dumped) == 50
    for raw in dumped:
        text = raw.replace(b"\r\n", b"\n")
        assert b"\n.a line that starts with a dot\n..and two\nend " in text
        assert b"X-Mail-Args: <bounces+7@bounces.example.org>" in text


def test_pipelined_rcpt_refusal_fails_the_address_and_keeps_the_connection(
    smtp_sink: SinkFactory,
) -> None:
    target, dump = smtp_sink("-f", "rcpt")
    with SmtpMailer(target) as mailer:
        first = mailer.send(SENDER, ["gone@example.org"], _message(1))
        second = mailer.send(SENDER, ["also-gone@example.org"], _message(2))
        assert mailer.connections_opened == 1
    assert first.outcome is Outcome.FAILED and first.code is not None and first.code >= 500
    assert second.outcome is Outcome.FAILED
    assert list(dump.iterdir()) == []


def test_pipelined_soft_refusal_of_data_defers(smtp_sink: SinkFactory) -> None:
    target, dump = smtp_sink("-r", "data")
    with SmtpMailer(target) as mailer:
        result = mailer.send(SENDER, ["reader@example.org"], _message(1))
    assert result.outcome is Outcome.DEFERRED and result.code is not None
    assert 400 <= result.code < 500
    assert list(dump.iterdir()) == []


def test_refusal_at_end_of_data_fails_and_next_message_still_goes(smtp_sink: SinkFactory) -> None:
    target, _ = smtp_sink("-f", ".")
    with SmtpMailer(target) as mailer:
        results = [mailer.send(SENDER, ["reader@example.org"], _message(i)) for i in range(3)]
        assert mailer.connections_opened == 1
    assert [result.outcome for result in results] == [Outcome.FAILED] * 3
