"""Bounces that are not RFC 3464 DSNs: qmail's QSBMF, old Exim, Yahoo's own text, ...

flufl.bounce (Mailman's detectors) finds the failed addresses; we add the status code and
the sentence next to each address, so the same classification table (`classify`) decides
hard, soft or sender problem as for a DSN.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from email.message import Message

from flufl.bounce import all_failures

from newsletter.bounces.classify import normalise_status

log = logging.getLogger(__name__)

_STATUS_NEAR = re.compile(r"(?<![.\d])([45]\.\d{1,3}\.\d{1,3})(?![.\d])")
_REPLY_CODE = re.compile(r"\b([45]\d\d)[ -]")
_END_OF_REPORT = re.compile(
    r"^-{2,}.*(original message|below this line|copy of the message|forwarded message"
    r"|returned message|original-nachricht|ursprünglichen nachricht|message d'origine"
    r"|mensaje original|mensagem original|messaggio originale|исходного сообщения|原邮件|元のメール"
    r"|元のメッセージ|oorspronkelijke bericht|oryginalnej wiadomo)"
    r"|^------ This is a copy of the message"
    # the returned headers, introduced without dashes (Exchange, localized Exchange, hosters)
    r"|^(original message headers|en-t[êe]tes de message d'origine|encabezados del mensaje"
    r" original|kopfzeilen der ursprünglichen nachricht|заголовки исходного сообщения"
    r"|原邮件信息|原始邮件头)\s*:?\s*$",
    re.IGNORECASE | re.MULTILINE,
)
SNIPPET_CHARS = 400


@dataclass(frozen=True)
class NonStandardFailure:
    address: str
    permanent: bool
    status: str | None
    diagnostic: str


def report_text(msg: Message, limit: int = 20_000) -> str:
    """The human-readable report: the first text/plain part, cut before the returned message."""
    for part in msg.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                text = payload[:limit].decode(part.get_content_charset() or "utf-8", "replace")
                end = _END_OF_REPORT.search(text)
                return text[: end.start()] if end else text
    return ""


def _around(text: str, address: str, others: tuple[str, ...] = ()) -> str:
    """The sentence after ``address``, up to the next failed address: a multi-recipient
    report must not lend one recipient's "mailbox full" to the next one's "no such user"."""
    lowered = text.lower()
    at = lowered.find(address.lower())
    if at < 0:
        return " ".join(text.split())[:SNIPPET_CHARS]
    end = at + SNIPPET_CHARS
    for other in others:
        if other.lower() == address.lower():
            continue
        # the next mention that is not inside this recipient's own line
        following = lowered.find(other.lower(), at + len(address))
        if 0 <= following < end:
            end = following
    return " ".join(text[at:end].split())


def scan(msg: Message) -> list[NonStandardFailure]:
    """Failed recipients flufl.bounce recognises, with the nearby status and sentence."""
    try:
        temporary, permanent = all_failures(msg)
    except Exception:  # a detector choking on a hostile message must not stop the worker
        log.warning("flufl.bounce detectors failed on a message", exc_info=True)
        return []
    text = report_text(msg)
    found = []
    every = tuple(
        raw.decode("ascii", "replace") if isinstance(raw, bytes) else str(raw)
        for raw in permanent | temporary
    )
    for addresses, is_permanent in ((permanent, True), (temporary - permanent, False)):
        for raw in sorted(addresses):
            address = raw.decode("ascii", "replace") if isinstance(raw, bytes) else str(raw)
            snippet = _around(text, address, every)
            status = _STATUS_NEAR.search(snippet)
            found.append(
                NonStandardFailure(
                    address=address,
                    permanent=is_permanent,
                    status=normalise_status(status.group(1)) if status else None,
                    diagnostic=snippet,
                )
            )
    return found
