"""The `Mailer` interface and its two implementations: an SMTP relay and a local outbox folder.

A mailer moves bytes; it decides nothing. Every reply goes through `outcomes` (invariant
`one-reply-classifier`), and `send` never raises for a per-message problem: the caller records the
`SendResult` on the Delivery row in the same connection that sent it (invariant `claim-and-record`).

Logs name the relay (host:port), codes and counts, never an address or a reply text (which
often echoes the address).
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import smtplib
import ssl
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Protocol, Self

from newsletter import clock
from newsletter.delivery.outcomes import SendResult, classify, relay_refused
from newsletter.delivery.smtp_transaction import send_transaction
from newsletter.observability import metrics

if TYPE_CHECKING:
    from newsletter.config import Settings, SmtpTarget

log = logging.getLogger(__name__)


class MailerUnavailable(ConnectionError):
    """The relay cannot be reached or refuses us (TLS, AUTH); `result` says why (deferred)."""

    def __init__(self, result: SendResult) -> None:
        super().__init__(f"{result.reason}: {result.reply}")
        self.result = result


class Mailer(Protocol):
    """What the delivery pipeline needs; owned by its user, implemented below.

    `open()` connects now and raises `MailerUnavailable` (for start-up checks); `send()` opens
    lazily, so a relay that is down defers the batch instead of raising. Used as a context
    manager it closes on exit. Not thread-safe: one mailer per worker thread.
    """

    def open(self) -> None: ...

    def send(self, mail_from: str, recipients: Sequence[str], message: bytes) -> SendResult: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def check_envelope(mail_from: str, recipients: Sequence[str]) -> None:
    """Refuse line breaks in envelope addresses (invariant `sandbox-and-safe-headers`); they would
    inject SMTP commands."""
    if not recipients:
        raise ValueError("a message needs at least one recipient")
    for address in (mail_from, *recipients):
        if any(char in address for char in "\r\n\0"):
            raise ValueError("envelope address contains a line break or NUL; refused")


class SmtpMailer(Mailer):
    """Sends over one persistent connection to `target`, reused for every message.

    Every socket operation is bounded by `target.timeout`. A dropped connection (the relay closed
    an idle session, a network blip) is reopened once and the message retried once. A timeout is
    not retried: the server may have taken the message and merely be slow, and waiting twice
    would double the stall; the connection is discarded and the message deferred. After a failed
    connect, further sends are deferred at once for `reconnect_backoff` seconds, so a relay that
    is down does not cost one timeout per message of the batch.
    """

    def __init__(
        self,
        target: SmtpTarget,
        local_hostname: str | None = None,
        *,
        reconnect_backoff: float = 10.0,
        metrics_label: str = "relay0",
    ) -> None:
        self.target = target
        self.metrics_label = metrics_label
        self.local_hostname = local_hostname
        self.reconnect_backoff = reconnect_backoff
        self.connections_opened = 0
        self._smtp: smtplib.SMTP | None = None
        self._down: tuple[float, SendResult] | None = None

    @property
    def where(self) -> str:
        return f"{self.target.host}:{self.target.port}"

    @property
    def is_down(self) -> bool:
        """True while a failed connect (or TLS, AUTH) is being backed off: nothing was sent."""
        return self._down is not None and time.monotonic() < self._down[0]

    def open(self) -> None:
        self._down = None
        if not self._connected():
            self._connect()

    def close(self) -> None:
        self._down = None
        if self._smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._smtp.quit()
            self._discard()

    def send(self, mail_from: str, recipients: Sequence[str], message: bytes) -> SendResult:
        check_envelope(mail_from, recipients)
        if self.is_down:  # backing off: no transaction, nothing to time
            return self._down[1]  # type: ignore[index]
        started = time.monotonic()
        try:
            return self._send(mail_from, recipients, message)
        finally:
            elapsed = time.monotonic() - started
            metrics.SMTP_SECONDS.labels(relay=self.metrics_label).observe(elapsed)

    def _send(self, mail_from: str, recipients: Sequence[str], message: bytes) -> SendResult:
        options = [] if all(a.isascii() for a in (mail_from, *recipients)) else ["SMTPUTF8"]
        first = self._attempt(mail_from, recipients, message, options)
        if isinstance(first, SendResult):
            return first
        log.info(
            "smtp %s: connection lost (%s); reconnecting once", self.where, type(first).__name__
        )
        second = self._attempt(mail_from, recipients, message, options)
        if isinstance(second, SendResult):
            return second
        log.warning("smtp %s: connection lost again; message deferred", self.where)
        return classify(None, f"connection to the relay lost twice: {second}")

    def _attempt(
        self, mail_from: str, recipients: Sequence[str], message: bytes, options: list[str]
    ) -> SendResult | OSError:
        """One try; returns the exception instead of a result when the connection was lost."""
        if self._down is not None and time.monotonic() < self._down[0]:
            return self._down[1]
        try:
            if not self._connected():
                self._connect()
            assert self._smtp is not None
            refused = send_transaction(self._smtp, mail_from, recipients, message, options)
        except MailerUnavailable as unavailable:
            self._down = (time.monotonic() + self.reconnect_backoff, unavailable.result)
            return unavailable.result
        except smtplib.SMTPRecipientsRefused as exc:
            return self._refused(exc.recipients)
        except smtplib.SMTPSenderRefused as exc:
            log.warning("smtp %s: sender refused with %s", self.where, exc.smtp_code)
            return relay_refused(exc.smtp_code, exc.smtp_error, "MAIL FROM")
        except smtplib.SMTPResponseException as exc:  # includes SMTPDataError
            self._reset_or_discard(already_reset=isinstance(exc, smtplib.SMTPDataError))
            log.info("smtp %s: message refused with %s", self.where, exc.smtp_code)
            return classify(exc.smtp_code, exc.smtp_error)
        except smtplib.SMTPNotSupportedError as exc:  # e.g. SMTPUTF8 needed but not offered
            self._reset_or_discard(already_reset=False)
            return classify(None, str(exc))
        except OSError as exc:  # includes SMTPServerDisconnected, resets, TLS errors, timeouts
            self._discard()
            if not _timed_out(exc):
                return exc
            log.warning("smtp %s: no reply within %ss; deferred", self.where, self.target.timeout)
            return classify(None, f"no reply from the relay within {self.target.timeout}s")
        return self._refused(refused) if refused else classify(250, "accepted")

    def _refused(self, refused: dict[str, tuple[int, bytes]]) -> SendResult:
        """Some or all recipients refused at RCPT. The service sends one recipient per message;
        with several, the first refusal stands for the message."""
        code, text = next(iter(refused.values()))
        log.info("smtp %s: %d recipient(s) refused, first with %s", self.where, len(refused), code)
        return classify(code, text)

    def _connected(self) -> bool:
        return self._smtp is not None and self._smtp.sock is not None

    def _tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if not self.target.verify_tls:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def _connect(self) -> None:
        """Connect, upgrade and log in; raise `MailerUnavailable` (deferred) on any failure."""
        self._discard()
        target, stage = self.target, "connect"
        smtp: smtplib.SMTP | None = None
        try:  # the host goes to the constructor: smtplib checks certificates against it
            if target.security == "tls":
                smtp = smtplib.SMTP_SSL(
                    target.host,
                    target.port,
                    local_hostname=self.local_hostname,
                    timeout=target.timeout,
                    context=self._tls_context(),
                )
            else:
                smtp = smtplib.SMTP(
                    target.host, target.port, self.local_hostname, timeout=target.timeout
                )
            if target.security == "starttls":
                stage = "STARTTLS"
                smtp.starttls(context=self._tls_context())  # raises if not offered: no downgrade
            if target.username:
                stage = "AUTH"
                smtp.login(target.username, target.password or "")
        except smtplib.SMTPResponseException as exc:
            if smtp is not None:
                smtp.close()
            log.warning("smtp %s: refused at %s with %s", self.where, stage, exc.smtp_code)
            raise MailerUnavailable(relay_refused(exc.smtp_code, exc.smtp_error, stage)) from exc
        except (smtplib.SMTPException, OSError) as exc:
            if smtp is not None:
                smtp.close()
            log.warning("smtp %s: cannot %s (%s)", self.where, stage, type(exc).__name__)
            text = f"{type(exc).__name__}: {exc}"
            raise MailerUnavailable(relay_refused(None, text, stage)) from exc
        self._smtp = smtp
        self.connections_opened += 1
        log.info(
            "smtp %s: connection %d opened (%s)",
            self.where,
            self.connections_opened,
            target.security,
        )

    def _reset_or_discard(self, *, already_reset: bool) -> None:
        """After a refused transaction, leave the session clean for the next message."""
        if already_reset or self._smtp is None:
            return
        try:
            self._smtp.rset()
        except (smtplib.SMTPException, OSError):
            self._discard()

    def _discard(self) -> None:
        if self._smtp is not None:
            self._smtp.close()
            self._smtp = None


class OutboxMailer(Mailer):
    """Writes each message to `directory` as ``<UTC timestamp>-<random hex>.eml``.

    For development and single-box installs without a relay. The envelope is kept by prepending
    ``X-Envelope-From:`` and one ``X-Envelope-To:`` header per recipient to the message bytes,
    which are otherwise written exactly; the file stays a valid RFC 5322 message any mail tool
    opens. Each file is written to a hidden temporary file in the same folder, fsynced, then
    renamed into place, so a reader never sees half a message and a crash leaves no ``.eml``.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._ready = False

    def open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._ready = True

    def close(self) -> None:
        self._ready = False

    def send(self, mail_from: str, recipients: Sequence[str], message: bytes) -> SendResult:
        check_envelope(mail_from, recipients)
        if not self._ready:
            self.open()
        envelope = f"X-Envelope-From: <{mail_from}>\r\n" + "".join(
            f"X-Envelope-To: <{rcpt}>\r\n" for rcpt in recipients
        )
        stamp = clock.now().strftime("%Y%m%dT%H%M%S.%fZ")
        name = f"{stamp}-{secrets.token_hex(8)}.eml"
        try:
            self._write_atomically(name, envelope.encode("utf-8") + message)
        except OSError as exc:  # disk full, permissions: nothing was written, try again later
            log.warning("outbox %s: cannot write (%s)", self.directory, type(exc).__name__)
            return classify(None, f"cannot write to the outbox: {exc}")
        return classify(250, f"written to the outbox as {name}")

    def _write_atomically(self, name: str, content: bytes) -> None:
        descriptor, temporary = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=self.directory)
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(content)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.directory / name)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def _timed_out(exc: BaseException) -> bool:
    """smtplib turns a read timeout into SMTPServerDisconnected; the cause says what it was."""
    while exc is not None:
        if isinstance(exc, TimeoutError):
            return True
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return False


def make_mailer(settings: Settings) -> Mailer:
    """The configured mailer: SMTP when a relay is set (`SMTP_URL`), else the outbox folder."""
    target = settings.smtp_target
    if target is not None:
        return SmtpMailer(target)
    assert settings.outbox_dir is not None  # filled in by Settings' validator
    return OutboxMailer(settings.outbox_dir)
