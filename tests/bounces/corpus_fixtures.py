"""The bounce corpus (tests/bounces/corpus/): real mail systems' shapes, written by us.

``manifest.json`` maps each file to its mail system, the reason and class it must be read as,
what must happen to the stored message (processed / ignored / quarantined), whether the
subscriber must end up suppressed, and the failed recipient. Markers as in `messages`.

Real bounces are not all UTF-8 text: a block between ``%%ENCODE <transfer> <charset>%%`` and
``%%END%%`` is written in that charset and transfer encoding (``base64``, ``quoted-printable``,
``7bit`` or ``8bit``; e.g. ISO-2022-JP from Japanese carriers, KOI8-R, base64 Exchange reports)
after the markers are replaced, so the fixture stays readable while the bytes are real.
"""

from __future__ import annotations

import base64
import json
import quopri
import re
from dataclasses import dataclass
from pathlib import Path

from newsletter import links
from newsletter.config import Settings

CORPUS = Path(__file__).parent / "corpus"
# What the sender of each fixture writes to: VERP, unless it is a feedback-loop report.
COMPLAINT_ADDRESS = "fbl@bounces.coalition.example.org"
_ENCODED_BLOCK = re.compile(r"^%%ENCODE (\S+) (\S+)%%\n(.*?)^%%END%%\n", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Case:
    name: str
    system: str
    reason: str
    cls: str
    action: str
    suppressed: bool
    recipient: str


def cases(folder: Path = CORPUS) -> list[Case]:
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return [
        Case(
            name, e["system"], e["reason"], e["class"], e["action"], e["suppressed"], e["recipient"]
        )
        for name, e in sorted(manifest.items())
    ]


def render(
    case: Case, settings: Settings, delivery_id: int, message_id: str, folder: Path = CORPUS
) -> bytes:
    text = (folder / case.name).read_text(encoding="utf-8")
    text = (
        text.replace("%VERP%", links.verp_address(settings, delivery_id))
        .replace("%RCPT%", case.recipient)
        .replace("%MSGID%", message_id)
    )
    text = text.replace("\r\n", "\n")
    out = b""
    at = 0
    for block in _ENCODED_BLOCK.finditer(text):
        out += text[at : block.start()].encode("utf-8")
        out += _encode_block(block.group(3), block.group(1), block.group(2))
        at = block.end()
    out += text[at:].encode("utf-8")
    return out.replace(b"\n", b"\r\n")


def _encode_block(text: str, transfer: str, charset: str) -> bytes:
    """``text`` in ``charset``, then in the transfer encoding, lines of at most 76 octets."""
    data = text.encode(charset)
    if transfer == "base64":
        encoded = base64.b64encode(data)
        return b"".join(encoded[i : i + 76] + b"\n" for i in range(0, len(encoded), 76))
    if transfer == "quoted-printable":
        return quopri.encodestring(data).replace(b"\r\n", b"\n")
    if transfer in ("7bit", "8bit"):
        return data
    raise ValueError(f"unknown transfer encoding {transfer}")


def envelope_to(case: Case, settings: Settings, raw: bytes, delivery_id: int) -> str:
    """Where the reporting system sends it: our VERP address, or the complaint address."""
    if f"To: {COMPLAINT_ADDRESS}".encode() in raw:
        return COMPLAINT_ADDRESS
    return links.verp_address(settings, delivery_id)
