"""The bounce corpus (tests/bounces/corpus/): real mail systems' shapes, written by us.

``manifest.json`` maps each file to its mail system, the reason and class it must be read as,
what must happen to the stored message (processed / ignored / quarantined), whether the
subscriber must end up suppressed, and the failed recipient. Markers as in `messages`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from newsletter import links
from newsletter.config import Settings

CORPUS = Path(__file__).parent / "corpus"
# What the sender of each fixture writes to: VERP, unless it is a feedback-loop report.
COMPLAINT_ADDRESS = "fbl@bounces.coalition.example.org"


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
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


def envelope_to(case: Case, settings: Settings, raw: bytes, delivery_id: int) -> str:
    """Where the reporting system sends it: our VERP address, or the complaint address."""
    if f"To: {COMPLAINT_ADDRESS}".encode() in raw:
        return COMPLAINT_ADDRESS
    return links.verp_address(settings, delivery_id)
