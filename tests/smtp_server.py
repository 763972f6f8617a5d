"""A real SMTP server on loopback (aiosmtpd) that a test can tell to misbehave.

Delivery code is tested against a real SMTP conversation, not a mock of smtplib: the server can
answer any reply to MAIL, RCPT or DATA, drop the connection mid-DATA, stall before answering,
require STARTTLS and AUTH, or speak implicit TLS. It runs in its own thread with its own event
loop, so every method here is safe to call from the test's thread.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal, Self, cast
from urllib.parse import quote

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from newsletter.config import SmtpTarget

Security = Literal["none", "starttls", "tls"]
AddressRule = Callable[[str], str | None]


@dataclass(frozen=True)
class ReceivedMessage:
    """One message the server accepted: the envelope, the raw bytes and the parsed message."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    message: EmailMessage


@dataclass
class Rules:
    """Replies to give instead of 250; a rule returning None lets the command succeed."""

    mail: AddressRule | None = None
    rcpt: AddressRule | None = None
    data: Callable[[ReceivedMessage], str | None] | None = None


@dataclass
class _Faults:
    fail_data: list[str] = field(default_factory=list)
    drops: int = 0
    stalls: dict[str, float] = field(default_factory=dict)


class _CountingSMTP(SMTP):
    """aiosmtpd's SMTP, counting TCP connections (not the second connection_made of STARTTLS)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self._original_transport is None:  # a new TCP connection, not a TLS upgrade
            cast(_Handler, self.event_handler).owner._connected(self)
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        cast(_Handler, self.event_handler).owner._disconnected(self)
        super().connection_lost(error)


class _Controller(Controller):
    def factory(self) -> SMTP:
        return _CountingSMTP(self.handler, **self.SMTP_kwargs)

    def _trigger_server(self) -> None:
        # Port 0 lets the OS pick a free port; learn it before the readiness probe connects.
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class _Handler:
    """aiosmtpd hooks; each consults the owner's rules and faults before answering."""

    def __init__(self, owner: SmtpTestServer) -> None:
        self.owner = owner

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        session.host_name = hostname
        if self.owner.pipelining:  # aiosmtpd reads one line at a time, so pipelined commands queue
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        await self.owner._stall("MAIL")
        reply = self.owner.rules.mail(address) if self.owner.rules.mail else None
        if reply:
            return reply
        envelope.mail_from, envelope.mail_options = address, list(options)
        return "250 2.1.0 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        await self.owner._stall("RCPT")
        reply = self.owner.rules.rcpt(address) if self.owner.rules.rcpt else None
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        await self.owner._stall("DATA")
        fault = self.owner._take_data_fault()
        if fault == "drop":
            assert server.transport is not None
            server.transport.abort()  # no reply at all: the client sees the connection vanish
            return "421 4.4.2 connection dropped by the test"
        if fault:
            return fault
        data = cast(bytes, envelope.original_content or envelope.content or b"")
        received = ReceivedMessage(
            mail_from=envelope.mail_from or "",
            rcpt_tos=tuple(envelope.rcpt_tos),
            data=data,
            message=cast(EmailMessage, email.message_from_bytes(data, policy=email.policy.default)),
        )
        reply = self.owner.rules.data(received) if self.owner.rules.data else None
        if reply and not reply.startswith("2"):
            return reply
        self.owner._received(received)
        return reply or "250 2.0.0 OK: queued"


class SmtpTestServer:
    """An SMTP server on 127.0.0.1 with a free port; start/stop it or use it as a context.

    `security` "starttls" requires STARTTLS before MAIL; "tls" speaks TLS from the first byte.
    With `credentials`, AUTH (PLAIN/LOGIN) is required before MAIL (offered, with "tls").
    With `pipelining`, EHLO offers PIPELINING (RFC 2920), so a client sends MAIL, RCPT and DATA
    at once.
    """

    host = "127.0.0.1"

    def __init__(
        self,
        *,
        security: Security = "none",
        certificate: tuple[Path, Path] | None = None,
        credentials: tuple[str, str] | None = None,
        pipelining: bool = False,
    ) -> None:
        if security != "none" and certificate is None:
            raise ValueError("a TLS server needs a (cert.pem, key.pem) pair")
        self.security = security
        self.credentials = credentials
        self.pipelining = pipelining
        self.rules = Rules()
        self.logins: list[str] = []
        self._lock = threading.Condition()
        self._messages: list[ReceivedMessage] = []
        self._connections = 0
        self._live: set[SMTP] = set()
        self._faults = _Faults()
        self._controller = _Controller(
            _Handler(self), hostname=self.host, port=0, **self._smtp_options(certificate)
        )

    def _smtp_options(self, certificate: tuple[Path, Path] | None) -> dict[str, Any]:
        options: dict[str, Any] = {"server_hostname": "mx.test.invalid", "ready_timeout": 5.0}
        if certificate is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*certificate)
            if self.security == "starttls":
                options.update(tls_context=context, require_starttls=True)
            elif self.security == "tls":
                options.update(ssl_context=context, auth_require_tls=False)
        if self.credentials is not None:
            # aiosmtpd cannot see implicit TLS, so there AUTH is offered but not enforced;
            # `logins` shows whether the client logged in.
            required = self.security != "tls"
            options.update(authenticator=self._authenticate, auth_required=required)
        return options

    def start(self) -> Self:
        self._controller.start()
        with self._lock:
            self._connections = 0  # the controller's own readiness probe is not a client
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return int(self._controller.port)

    def url_for(self, *, timeout: float = 5.0, verify: bool = False) -> str:
        """An SMTP_URL for this server; TLS certificates are self-signed, so verify is off."""
        scheme = {"none": "smtp", "starttls": "smtp+starttls", "tls": "smtps"}[self.security]
        userinfo = ""
        if self.credentials is not None:
            userinfo = (
                f"{quote(self.credentials[0], safe='')}:{quote(self.credentials[1], safe='')}@"
            )
        query = f"timeout={timeout:g}" + (
            "" if verify or self.security == "none" else "&verify=false"
        )
        return f"{scheme}://{userinfo}{self.host}:{self.port}?{query}"

    @property
    def url(self) -> str:
        return self.url_for()

    def target(self, *, timeout: float = 5.0, verify: bool = False) -> SmtpTarget:
        return SmtpTarget.from_url(self.url_for(timeout=timeout, verify=verify))

    @property
    def messages(self) -> list[ReceivedMessage]:
        with self._lock:
            return list(self._messages)

    @property
    def connections(self) -> int:
        """TCP connections clients have opened since start (or the last reset)."""
        with self._lock:
            return self._connections

    def wait_for(self, count: int, timeout: float = 5.0) -> list[ReceivedMessage]:
        """Block until at least `count` messages have arrived; fail the test after `timeout`."""
        with self._lock:
            if not self._lock.wait_for(lambda: len(self._messages) >= count, timeout):
                raise AssertionError(f"expected {count} messages, got {len(self._messages)}")
            return list(self._messages)

    def reply_to_mail(self, reply: str | AddressRule | None) -> None:
        self.rules.mail = _as_rule(reply)

    def reply_to_rcpt(self, reply: str | AddressRule | None) -> None:
        """Answer RCPT with `reply` (e.g. "550 5.1.1 no such user"), or per address."""
        self.rules.rcpt = _as_rule(reply)

    def reply_to_data(self, reply: str | Callable[[ReceivedMessage], str | None] | None) -> None:
        self.rules.data = (lambda _: reply) if isinstance(reply, str) else reply

    def fail_next(self, n: int, reply: str = "451 4.3.0 Temporary failure, try again") -> None:
        """Answer the next `n` DATA commands with `reply` instead of accepting."""
        with self._lock:
            self._faults.fail_data.extend([reply] * n)

    def drop_next(self, n: int = 1) -> None:
        """Abort the connection, without a reply, at the end of the next `n` DATA commands."""
        with self._lock:
            self._faults.drops += n

    def stall(self, seconds: float, command: str = "DATA") -> None:
        """Sleep `seconds` before answering every `command` (MAIL, RCPT, DATA); 0 to stop."""
        with self._lock:
            self._faults.stalls[command.upper()] = seconds

    def disconnect_all(self) -> None:
        """Close every client connection now, as a relay does to idle sessions."""
        with self._lock:
            live = list(self._live)
        for protocol in live:
            if protocol.transport is not None:
                self._controller.loop.call_soon_threadsafe(protocol.transport.close)

    def reset(self) -> None:
        """Forget messages and counts, and go back to accepting everything promptly."""
        with self._lock:
            self.rules = Rules()
            self._faults = _Faults()
            self._messages.clear()
            self.logins.clear()
            self._connections = 0

    def _connected(self, protocol: SMTP) -> None:
        with self._lock:
            self._connections += 1
            self._live.add(protocol)

    def _disconnected(self, protocol: SMTP) -> None:
        with self._lock:
            self._live.discard(protocol)

    def _received(self, message: ReceivedMessage) -> None:
        with self._lock:
            self._messages.append(message)
            self._lock.notify_all()

    def _take_data_fault(self) -> str | None:
        with self._lock:
            if self._faults.drops:
                self._faults.drops -= 1
                return "drop"
            return self._faults.fail_data.pop(0) if self._faults.fail_data else None

    async def _stall(self, command: str) -> None:
        with self._lock:
            seconds = self._faults.stalls.get(command, 0.0)
        if seconds:
            await asyncio.sleep(seconds)

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: object
    ) -> AuthResult:
        assert self.credentials is not None
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login, password = data.login.decode(), data.password.decode()
        ok = (login, password) == self.credentials
        if ok:
            with self._lock:
                self.logins.append(login)
        return AuthResult(success=ok, handled=False)


def _as_rule(reply: str | AddressRule | None) -> AddressRule | None:
    return (lambda _: reply) if isinstance(reply, str) else reply
