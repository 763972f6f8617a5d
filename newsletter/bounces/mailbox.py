"""Polling the bounce mailbox over IMAP (for relays that return bounces to a mailbox).

Each message is processed once: it is stored in ``inbound_messages`` (unique on folder,
UIDVALIDITY and UID) and committed *before* the server is told anything; only then is it
flagged ``$NewsletterProcessed`` (and ``\\Seen``) and, when ``IMAP_PROCESSED_FOLDER`` is set,
moved there. A crash in between re-fetches the message next time, the unique key makes
that a no-op, and the flag is set again. Only TLS connections are made (``imaps://`` or
``imap+starttls://``): the mailbox holds supporters' addresses.
"""

from __future__ import annotations

import imaplib
import logging
import re
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy.orm import Session, sessionmaker

from newsletter.bounces.inbox import store_inbound
from newsletter.config import Settings
from newsletter.db import unit_of_work

log = logging.getLogger(__name__)

PROCESSED_KEYWORD = "$NewsletterProcessed"
SOURCE = "imap"
MAX_PER_POLL = 200
TIMEOUT = 30


@dataclass(frozen=True)
class ImapTarget:
    """Where the bounce mailbox is, parsed from ``IMAP_URL``."""

    host: str
    port: int
    starttls: bool
    username: str
    password: str
    folder: str

    @classmethod
    def from_url(cls, url: str) -> ImapTarget:
        parts = urlsplit(url)
        if parts.scheme not in {"imaps", "imap+starttls"}:
            raise ValueError("use imaps://user:password@host:993/INBOX or imap+starttls://")
        if not parts.hostname or not parts.username:
            raise ValueError("the IMAP URL needs a user name and a host")
        starttls = parts.scheme == "imap+starttls"
        return cls(
            host=parts.hostname,
            port=parts.port or (143 if starttls else 993),
            starttls=starttls,
            username=unquote(parts.username),
            password=unquote(parts.password or ""),
            folder=unquote(parts.path.lstrip("/")) or "INBOX",
        )


def _tls_context(settings: Settings) -> ssl.SSLContext:
    ca = str(settings.imap_ca_file) if settings.imap_ca_file else None
    return ssl.create_default_context(cafile=ca)


def connect(settings: Settings, target: ImapTarget) -> imaplib.IMAP4:
    context = _tls_context(settings)
    if target.starttls:
        client = imaplib.IMAP4(target.host, target.port, timeout=TIMEOUT)
        client.starttls(ssl_context=context)
    else:
        client = imaplib.IMAP4_SSL(target.host, target.port, ssl_context=context, timeout=TIMEOUT)
    client.login(target.username, target.password)
    return client


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _check(result: tuple[str, Sequence[Any]], what: str) -> list[Any]:
    status, data = result
    if status != "OK":
        raise imaplib.IMAP4.error(f"{what} failed: {data!r}"[:300])
    return list(data)


def _uidvalidity(client: imaplib.IMAP4) -> str:
    _, data = client.response("UIDVALIDITY")
    value = data[0] if data and data[0] else b"0"
    return value.decode() if isinstance(value, bytes) else str(value)


def _fetch(client: imaplib.IMAP4, uid: str, limit: int) -> bytes | None:
    data = _check(client.uid("FETCH", uid, f"(BODY.PEEK[]<0.{limit}>)"), "FETCH")
    for item in data:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
            return item[1]
    return None


def _mark_done(client: imaplib.IMAP4, uid: str, move_to: str | None, can_move: bool) -> None:
    _check(client.uid("STORE", uid, "+FLAGS", f"(\\Seen {PROCESSED_KEYWORD})"), "STORE")
    if not move_to:
        return
    if can_move:
        _check(client.uid("MOVE", uid, _quote(move_to)), "MOVE")
        return
    _check(client.uid("COPY", uid, _quote(move_to)), "COPY")
    _check(client.uid("STORE", uid, "+FLAGS", "(\\Deleted)"), "STORE")
    client.expunge()


def poll_mailbox(
    settings: Settings,
    session_factory: sessionmaker[Session],
    enqueue: Callable[[int], object],
) -> int:
    """Fetch unprocessed messages, store each, then flag/move it; how many were new."""
    if not settings.imap_url:
        return 0
    target = ImapTarget.from_url(settings.imap_url)
    move_to = settings.imap_processed_folder or None
    client = connect(settings, target)
    stored = 0
    try:
        if move_to:
            client.create(_quote(move_to))  # "already exists" is fine
        _check(client.select(_quote(target.folder)), "SELECT")
        validity = _uidvalidity(client)
        can_move = "MOVE" in client.capabilities
        data = _check(client.uid("SEARCH", "UNKEYWORD", PROCESSED_KEYWORD), "SEARCH")
        uids = (data[0] or b"").split()[:MAX_PER_POLL] if data else []
        for raw_uid in uids:
            if not re.fullmatch(rb"\d+", raw_uid):
                continue
            uid = raw_uid.decode()
            stored += _take_one(settings, session_factory, enqueue, client, target, validity, uid)
            _mark_done(client, uid, move_to, can_move)
    finally:
        try:
            client.logout()
        except (imaplib.IMAP4.error, OSError):
            log.info("imap: logout failed (connection already closed)")
    log.info("imap: %d new message(s) from the bounce mailbox", stored)
    return stored


def _take_one(
    settings: Settings,
    session_factory: sessionmaker[Session],
    enqueue: Callable[[int], object],
    client: imaplib.IMAP4,
    target: ImapTarget,
    validity: str,
    uid: str,
) -> int:
    raw = _fetch(client, uid, settings.inbound_max_message_bytes)
    if raw is None:
        log.warning("imap: message uid %s has no body; flagged without processing", uid)
        return 0
    ref = f"{target.folder}:{validity}:{uid}"
    with unit_of_work(session_factory) as session:
        inbound = store_inbound(session, source=SOURCE, source_ref=ref, raw=raw)
        session.flush()
        inbound_id = inbound.id if inbound is not None else None
    if inbound_id is None:
        return 0  # stored by an earlier poll that stopped before flagging it
    enqueue(inbound_id)
    return 1
