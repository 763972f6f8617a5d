"""The `Mailer` interface and its two implementations: an SMTP relay and a local outbox folder.

A mailer moves bytes; it decides nothing. Every reply goes through `outcomes` (invariant 6), and
`send` never raises for a per-message problem: the caller records the `SendResult` on the
Delivery row in the same connection that sent it (invariant 3).

Logs name the relay (host:port), codes and counts, never an address or a reply text (which
often echoes the address).
"""

from __future__ import annotations

import logging
import os
import secrets
import smtplib
import ssl
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Protocol, Self

from newsletter.delivery.outcomes import SendResult, classify, relay_refused

if TYPE_CHECKING:
    from newsletter.config import Settings, SmtpTarget

log = logging.getLogger(__name__)


class MailerUnavailable(ConnectionError):
    """`open()` could not reach or log in to the relay; `result` says why (always deferred)."""

    def __init__(self, result: SendResult) -> None:
        super().__init__(result.reason + (f": {result.code}" if result.code else ""))
        self.result = result


class Mailer(Protocol):
    """What the delivery pipeline needs; owned by its user, implemented below.

    `open()` connects now and raises `MailerUnavailable` (for start-up checks); `send()` opens
    lazily, so a relay that is down defers the batch instead of raising. Not thread-safe: one
    mailer per worker thread.
    """

    def open(self) -> None: ...

    def send(self, mail_from: str, recipients: Sequence[str], message: bytes) -> SendResult: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


class _ClosingContext:
    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


def check_envelope(mail_from: str, recipients: Sequence[str]) -> None:
    """Refuse line breaks in envelope addresses (invariant 9); they would inject SMTP commands."""
    if not recipients:
        raise ValueError("a message needs at least one recipient")
    for address in (mail_from, *recipients):
        if any(char in address for char in "\r\n\0"):
            raise ValueError("envelope address contains a line break or NUL; refused")


class SmtpMailer(_ClosingContext):
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
    ) -> None:
        self.target = target
        self.local_hostname = local_hostname
        self.reconnect_backoff = reconnect_backoff
        self.connections_opened = 0
        self._smtp: smtplib.SMTP | None = None
        self._down: tuple[float, SendResult] | None = None

    @property
    def where(self) -> str:
        return f"{self.target.host}:{self.target.port}"

    def open(self) -> None:
        self._down = None
        if not self._connected():
            self._connect()

    def close(self) -> None:
        self._down = None
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self._discard()

    def send(self, mail_from: str, recipients: Sequence[str], message: bytes) -> SendResult:
        check_envelope(mail_from, recipients)
        options = ["SMTPUTF8"] if not all(a.isascii() for a in (mail_from, *recipients)) else []
        for attempt in (1, 2):
            if self._down is not None and time.monotonic() < self._down[0]:
                return self._down[1]
            try:
                if not self._connected():
                    self._connect()
                assert self._smtp is not None
                refused = self._smtp.sendmail(mail_from, list(recipients), message, options)
            except MailerUnavailable as unavailable:
                self._down = (time.monotonic() + self.reconnect_backoff, unavailable.result)
                return unavailable.result
            except TimeoutError:
                self._discard()
                log.warning("smtp %s: no reply within %ss; message deferred", self.where,
                            self.target.timeout)
                return classify(None, f"no reply from the relay within {self.target.timeout}s")
            except smtplib.SMTPRecipientsRefused as exc:
                return self._refused(exc.recipients)
            except smtplib.SMTPSenderRefused as exc:
                log.warning("smtp %s: sender refused with %s", self.where, exc.smtp_code)
                return relay_refused(exc.smtp_code, exc.smtp_error, "MAIL FROM")
            except smtplib.SMTPResponseException as exc:  # includes SMTPDataError
                self._reset_or_discard(already_reset=isinstance(exc, smtplib.SMTPDataError))
                log.info("smtp %s: message refused with %s", self.where, exc.smtp_code)
                return classify(exc.smtp_code, exc.smtp_error)
            except smtplib.SMTPServerDisconnected as exc:
                lost: OSError = exc
            except smtplib.SMTPException as exc:  # e.g. SMTPUTF8 needed but not offered
                self._discard()
                return classify(None, f"{type(exc).__name__}: {exc}")
            except OSError as exc:  # reset, broken pipe, TLS error mid-session
                lost = exc
            else:
                return self._refused(refused) if refused else classify(250, "accepted")
            self._discard()
            if attempt == 1:
                log.info("smtp %s: connection lost (%s); reconnecting once", self.where,
                         type(lost).__name__)
                continue
            log.warning("smtp %s: connection lost again; message deferred", self.where)
            return classify(None, f"connection to the relay lost twice: {lost}")
        raise AssertionError("unreachable")  # pragma: no cover

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
        if target.security == "tls":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                local_hostname=self.local_hostname,
                timeout=target.timeout,
                context=self._tls_context(),
            )
        else:
            smtp = smtplib.SMTP(local_hostname=self.local_hostname, timeout=target.timeout)
        try:
            smtp.connect(target.host, target.port)
            if target.security == "starttls":
                stage = "STARTTLS"
                smtp.starttls(context=self._tls_context())  # raises if not offered: no downgrade
            if target.username:
                stage = "AUTH"
                smtp.login(target.username, target.password or "")
        except smtplib.SMTPResponseException as exc:
            smtp.close()
            log.warning("smtp %s: refused at %s with %s", self.where, stage, exc.smtp_code)
            raise MailerUnavailable(relay_refused(exc.smtp_code, exc.smtp_error, stage)) from exc
        except (smtplib.SMTPException, OSError) as exc:
            smtp.close()
            log.warning("smtp %s: cannot %s (%s)", self.where, stage, type(exc).__name__)
            text = f"{type(exc).__name__}: {exc}"
            raise MailerUnavailable(relay_refused(None, text, stage)) from exc
        self._smtp = smtp
        self.connections_opened += 1
        log.info("smtp %s: connection %d opened (%s)", self.where, self.connections_opened,
                 target.security)

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


class OutboxMailer(_ClosingContext):
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
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        name = f"{stamp}-{secrets.token_hex(8)}.eml"
        descriptor, temporary = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=self.directory)
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(envelope.encode("utf-8") + message)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.directory / name)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return classify(250, f"written to the outbox as {name}")


def make_mailer(settings: Settings) -> SmtpMailer | OutboxMailer:
    """The configured mailer: SMTP when a relay is set (`SMTP_URL`), else the outbox folder."""
    target = settings.smtp_target
    if target is not None:
        return SmtpMailer(target)
    assert settings.outbox_dir is not None  # filled in by Settings' validator
    return OutboxMailer(settings.outbox_dir)
