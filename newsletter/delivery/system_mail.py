"""One path out for mail that is not a campaign: confirmation, welcome, password reset, tests.

Every such message is DKIM-signed like campaign messages when ``DKIM_*`` name a key, so a
receiver that checks DMARC treats the journey's and staff's mail as the coalition's own, and
each send is counted by kind and outcome (``newsletter_system_mail_total``).
"""

from __future__ import annotations

from collections.abc import Callable

from newsletter.config import Settings
from newsletter.delivery.dkim_signing import dkim_signer
from newsletter.delivery.mailers import make_mailer
from newsletter.delivery.outcomes import SendResult
from newsletter.observability import metrics


def bounce_address(settings: Settings) -> str:
    """Envelope sender for mail that maps to no delivery (tests, system mail)."""
    return f"bounces@{settings.bounce_domain}"


def configured_signer(settings: Settings) -> Callable[[bytes], bytes] | None:
    """The DKIM signer of the configured key (read once per process), or None without one."""
    if settings.dkim_private_key_path is None:
        return None
    return dkim_signer(
        settings.dkim_domain or "", settings.dkim_selector or "", settings.dkim_private_key_path
    )


def sign(settings: Settings, message: bytes) -> bytes:
    """``message`` with its DKIM-Signature header first, or unchanged without a key."""
    signer = configured_signer(settings)
    return signer(message) if signer is not None else message


def send_system_mail(
    settings: Settings,
    kind: str,
    recipient: str,
    message: bytes,
    *,
    mail_from: str | None = None,
    signed: bool = False,
) -> SendResult:
    """Sign (unless ``signed`` already) and send one message over a fresh mailer."""
    data = message if signed else sign(settings, message)
    with make_mailer(settings) as mailer:
        result = mailer.send(mail_from or bounce_address(settings), [recipient], data)
    metrics.SYSTEM_MAIL.labels(kind=kind, outcome=str(result.outcome)).inc()
    return result
