"""Load the real-format fixtures under messages/, with our signed addresses filled in.

Markers: %VERP% (the delivery's return path), %RCPT% (the failed address), %UNSUB% (the
List-Unsubscribe mailto address of the subscriber), %MSGID% (the Message-ID the delivery was
sent with).
"""

from __future__ import annotations

from pathlib import Path

from newsletter import links
from newsletter.config import Settings

FOLDER = Path(__file__).parent / "messages"


def load(
    name: str,
    settings: Settings,
    *,
    delivery_id: int = 1,
    recipient: str = "amina@example.net",
    public_id: str = "0" * 32,
    message_id: str = "<campaign-1.delivery@coalition.example.org>",
) -> bytes:
    text = (FOLDER / name).read_text(encoding="utf-8")
    mailto = links.unsubscribe_mailto(settings, links.UnsubscribeScope(public_id))
    unsub = mailto.removeprefix("mailto:").split("?", 1)[0]
    text = (
        text.replace("%VERP%", links.verp_address(settings, delivery_id))
        .replace("%RCPT%", recipient)
        .replace("%UNSUB%", unsub)
        .replace("%MSGID%", message_id)
    )
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")
