"""One SMTP mail transaction on an open smtplib connection, pipelined when the relay offers it.

Why not `smtplib.SMTP.sendmail`: it waits for the reply to MAIL, then to each RCPT, then to DATA
before it sends the message, four round trips a message, and it dot-stuffs the message with a
regular expression over every byte. RFC 2920 PIPELINING lets a client send MAIL, RCPT and DATA
together and read their replies after, so a message costs two round trips; the relays a
coalition uses (Postfix, Exim, the big providers) offer it. The messages the engine builds are
CRLF already, so dot-stuffing is one `bytes.replace`. Together that is the largest share of a
worker's time per message after the network itself (`benchmarks/send_throughput.py`).

Connecting, EHLO, STARTTLS and AUTH stay with smtplib, replies are read with its parser, and a
refusal raises smtplib's own exceptions, leaving the session as `sendmail` would (reset, or
closed after a 421), so `SmtpMailer` handles both paths alike.
"""

from __future__ import annotations

import contextlib
import re
import smtplib
from collections.abc import Sequence

Reply = tuple[int, bytes]

_ACCEPTED_RCPT = (250, 251)
_BARE_LINE_END = re.compile(rb"\r\n|\r|\n")


def dot_stuffed(message: bytes) -> bytes:
    """The DATA payload: lines ending in CRLF, leading dots doubled, then ``.`` (RFC 5321 4.5.2).

    A bare CR or LF is turned into CRLF rather than sent as is: a lone LF before a dot is how
    "SMTP smuggling" slips a second message past a relay that reads line ends loosely.
    """
    crlf = message.count(b"\r\n")
    if message.count(b"\n") != crlf or message.count(b"\r") != crlf:
        message = _BARE_LINE_END.sub(b"\r\n", message)
    if message.startswith(b"."):
        message = b"." + message
    stuffed = message.replace(b"\r\n.", b"\r\n..")
    if not stuffed.endswith(b"\r\n"):
        stuffed += b"\r\n"
    return stuffed + b".\r\n"


def send_transaction(
    smtp: smtplib.SMTP,
    mail_from: str,
    recipients: Sequence[str],
    message: bytes,
    options: Sequence[str] = (),
) -> dict[str, Reply]:
    """Send one message; returns the refused recipients (empty when all were accepted).

    Raises `smtplib.SMTPSenderRefused`, `SMTPRecipientsRefused` (every recipient refused),
    `SMTPDataError`, `SMTPNotSupportedError` (SMTPUTF8 needed but not offered), or
    `SMTPServerDisconnected`/`OSError` when the connection is lost.
    """
    smtp.ehlo_or_helo_if_needed()
    payload = dot_stuffed(message)
    commands = _envelope_commands(smtp, mail_from, recipients, len(message), options)
    if smtp.does_esmtp and smtp.has_extn("pipelining"):
        smtp.send("".join(f"{command}\r\n" for command in commands))
        replies = _replies(smtp, len(commands))
    else:
        replies = _one_by_one(smtp, commands)
    mail_reply, rcpt_replies = replies[0], replies[1 : 1 + len(recipients)]
    data_reply = replies[1 + len(recipients)] if len(replies) > 1 + len(recipients) else None
    refused = {
        address: reply
        for address, reply in zip(recipients, rcpt_replies, strict=False)
        if reply[0] not in _ACCEPTED_RCPT
    }
    envelope_refused = mail_reply[0] != 250 or len(refused) == len(recipients)
    if data_reply is not None and data_reply[0] == 354 and envelope_refused:
        smtp.send(b".\r\n")  # a relay that said "go ahead" anyway: end the empty transaction
        smtp.getreply()
    if mail_reply[0] != 250:
        _end_transaction(smtp, mail_reply[0])
        raise smtplib.SMTPSenderRefused(mail_reply[0], mail_reply[1], mail_from)
    closing = any(reply[0] == 421 for reply in rcpt_replies)
    if closing or len(refused) == len(recipients):
        _end_transaction(smtp, 421 if closing else 0)
        raise smtplib.SMTPRecipientsRefused(refused)
    assert data_reply is not None
    if data_reply[0] != 354:
        _end_transaction(smtp, data_reply[0])
        raise smtplib.SMTPDataError(*data_reply)
    smtp.send(payload)
    code, text = smtp.getreply()
    if code != 250:
        _end_transaction(smtp, code)
        raise smtplib.SMTPDataError(code, text)
    return refused


def _envelope_commands(
    smtp: smtplib.SMTP,
    mail_from: str,
    recipients: Sequence[str],
    size: int,
    options: Sequence[str],
) -> list[str]:
    """MAIL (with SIZE and the caller's options where the relay speaks ESMTP), RCPTs, DATA."""
    mail_options: list[str] = []
    if smtp.does_esmtp:
        if smtp.has_extn("size"):
            mail_options.append(f"SIZE={size}")
        mail_options.extend(options)
    if any(option.lower() == "smtputf8" for option in options):
        if not (smtp.does_esmtp and smtp.has_extn("smtputf8")):
            raise smtplib.SMTPNotSupportedError("SMTPUTF8 not supported by server")
        smtp.command_encoding = "utf-8"
    suffix = "".join(f" {option}" for option in mail_options)
    return [
        f"MAIL FROM:{smtplib.quoteaddr(mail_from)}{suffix}",
        *(f"RCPT TO:{smtplib.quoteaddr(address)}" for address in recipients),
        "DATA",
    ]


def _replies(smtp: smtplib.SMTP, count: int) -> list[Reply]:
    """The replies to pipelined commands, stopping at a 421: the relay closes after it."""
    replies: list[Reply] = []
    while len(replies) < count:
        replies.append(smtp.getreply())
        if replies[-1][0] == 421:
            break
    return replies


def _one_by_one(smtp: smtplib.SMTP, commands: list[str]) -> list[Reply]:
    """Without PIPELINING: stop after a refused MAIL, and send DATA only if a RCPT passed."""
    mail, *rcpts, data = commands
    replies = [_command(smtp, mail)]
    if replies[0][0] != 250:
        return replies
    for rcpt in rcpts:
        replies.append(_command(smtp, rcpt))
        if replies[-1][0] == 421:
            return replies
    if all(code not in _ACCEPTED_RCPT for code, _ in replies[1:]):
        return replies
    replies.append(_command(smtp, data))
    return replies


def _command(smtp: smtplib.SMTP, line: str) -> Reply:
    smtp.send(f"{line}\r\n")
    return smtp.getreply()


def _end_transaction(smtp: smtplib.SMTP, code: int) -> None:
    """After a refusal: close on 421 (the relay is leaving), else RSET for the next message."""
    if code == 421:
        smtp.close()
        return
    with contextlib.suppress(smtplib.SMTPServerDisconnected):
        smtp.rset()
