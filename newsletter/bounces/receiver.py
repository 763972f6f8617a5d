"""``newsletter inbound``: the SMTP/LMTP server for the bounce domain (aiosmtpd).

It accepts only what the bounce domain is for: our signed VERP addresses
(``bounces+<token>@``), the signed ``List-Unsubscribe`` mailto (``unsubscribe+<token>@``),
the complaint feedback-loop addresses and ``postmaster`` (RFC 5321 requires it). Anything
else is refused at RCPT, so the server is not an open door for spam, and a forged token is
refused like an unknown user.

Long lines: a line may be as long as a whole message may be (`_LongLines`), not RFC 5321's
1,000 octets, because real bounces (SES notifications, GMX) break that limit and a `500` would
lose them.

Durability: each message is committed to ``inbound_messages`` *before* the 250 reply; if the
database is unavailable the sender gets a 451 and retries later, so an accepted bounce is
never lost. Parsing happens afterwards in a worker (``enqueue``), never in the receiver:
a hostile message can cost a worker a quarantine entry, not the receiver its life.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession
from sqlalchemy.orm import Session, sessionmaker

from newsletter import links
from newsletter.bounces import mailto
from newsletter.bounces.inbox import store_inbound
from newsletter.config import Settings
from newsletter.db import unit_of_work
from newsletter.tokens import InvalidToken

log = logging.getLogger(__name__)

MAX_RECIPIENTS = 50
SOURCE = "smtp"
ACCEPTED = "250 2.0.0 Message accepted for processing"
NO_SUCH_RECIPIENT = "550 5.1.1 No such recipient here"
TOO_BIG = "552 5.3.4 Message too big"
TRY_LATER = "451 4.3.0 Temporary local problem, please try again later"
TOO_MANY = "452 4.5.3 Too many recipients"


def accepts(settings: Settings, address: str) -> str | None:
    """What ``address`` is to us ("verp", "unsubscribe", "complaints", "postmaster"), or None."""
    local, _, domain = address.strip().strip("<>").rpartition("@")
    if domain.lower() != settings.bounce_domain.lower() or not local:
        return None
    lowered = local.lower()
    if lowered == "postmaster":
        return "postmaster"
    if lowered in {part.lower() for part in settings.inbound_complaint_local_parts}:
        return "complaints"
    if links.delivery_id_from_verp(settings, address) is not None:
        return "verp"
    token = mailto.token_of(settings, address)
    if token is not None:
        try:
            links.parse_unsubscribe_token(settings, token)
        except InvalidToken:
            return None
        return "unsubscribe"
    return None


class InboundHandler:
    """aiosmtpd handler: check recipients, store the message, hand its id to a worker."""

    def __init__(
        self,
        settings: Settings,
        session_factory: sessionmaker[Session],
        enqueue: Callable[[int], object],
        *,
        lmtp: bool = False,
    ) -> None:
        self.settings = settings
        self.session_factory = session_factory
        self.enqueue = enqueue
        self.lmtp = lmtp

    async def handle_RCPT(
        self,
        server: SMTP,
        session: SmtpSession,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return TOO_MANY
        if accepts(self.settings, address) is None:
            log.info(
                "inbound: refused a recipient from %s", session.peer[0] if session.peer else "?"
            )
            return NO_SUCH_RECIPIENT
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    def _store(self, raw: bytes, envelope: Envelope) -> int | None:
        with unit_of_work(self.session_factory) as session:
            inbound = store_inbound(
                session,
                source=SOURCE,
                source_ref=uuid.uuid4().hex,
                raw=raw,
                envelope_from=str(envelope.mail_from or ""),
                envelope_to=list(envelope.rcpt_tos),
            )
            session.flush()
            return inbound.id if inbound is not None else None

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        if len(raw) > self.settings.inbound_max_message_bytes:
            log.warning("inbound: refused a message of %d bytes (too big)", len(raw))
            return self._reply(envelope, TOO_BIG)
        try:
            loop = asyncio.get_running_loop()
            inbound_id = await loop.run_in_executor(None, self._store, raw, envelope)
        except Exception:
            log.exception("inbound: could not store a message; answered 451")
            return self._reply(envelope, TRY_LATER)
        log.info("inbound message %s stored (%d bytes)", inbound_id, len(raw))
        if inbound_id is not None:
            try:
                self.enqueue(inbound_id)
            except Exception:  # the sweeper picks stored messages up later
                log.exception(
                    "inbound message %s: could not enqueue, left for the sweeper", inbound_id
                )
        return self._reply(envelope, ACCEPTED)

    def _reply(self, envelope: Envelope, reply: str) -> str:
        """LMTP answers DATA once per recipient (RFC 2033 section 4.2)."""
        if self.lmtp and len(envelope.rcpt_tos) > 1:
            return "\r\n".join([reply] * len(envelope.rcpt_tos))
        return reply


class _LongLines:
    """Lines up to the message size limit instead of RFC 5321's 1,000 octets.

    Real bounces break the limit (an SES notification's JSON on one line, GMX's folded-less
    headers); aiosmtpd would answer ``500 Line too long``, a permanent error, and the bounce
    would be lost. The limit stays bounded: one line can be no longer than a whole message.
    aiosmtpd sizes its stream reader from ``line_length_limit`` in ``__init__``, so it is set
    before the base class runs.
    """

    def __init__(self, *args: Any, line_length_limit: int, **kwargs: Any) -> None:
        self.line_length_limit = line_length_limit
        super().__init__(*args, **kwargs)


class InboundSMTP(_LongLines, SMTP):
    """aiosmtpd's SMTP with long lines (`_LongLines`)."""


class InboundLMTP(_LongLines, LMTP):
    """aiosmtpd's LMTP with long lines (`_LongLines`)."""


def line_length_limit(settings: Settings) -> int:
    """The longest line accepted: the size limit plus CRLF and a transparency dot."""
    return settings.inbound_max_message_bytes + 3


class InboundController(Controller):
    """A threaded aiosmtpd controller speaking SMTP or LMTP, with long lines."""

    def __init__(self, handler: InboundHandler, *, lmtp: bool = False, **kwargs: Any) -> None:
        self.lmtp = lmtp
        super().__init__(handler, **kwargs)

    def factory(self) -> SMTP:
        protocol = InboundLMTP if self.lmtp else InboundSMTP
        limit = line_length_limit(self.handler.settings)
        return protocol(self.handler, line_length_limit=limit, **self.SMTP_kwargs)


def make_controller(
    settings: Settings,
    session_factory: sessionmaker[Session],
    enqueue: Callable[[int], object],
    *,
    host: str = "127.0.0.1",
    port: int = 2525,
    lmtp: bool = False,
) -> InboundController:
    """The receiver, ready to ``start()``; size limit and timeouts from the settings."""
    handler = InboundHandler(settings, session_factory, enqueue, lmtp=lmtp)
    return InboundController(
        handler,
        lmtp=lmtp,
        hostname=host,
        port=port,
        data_size_limit=settings.inbound_max_message_bytes,
        server_hostname=settings.bounce_domain,
        ident="newsletter inbound",
        timeout=60,
    )
