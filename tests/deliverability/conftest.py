"""The deliverability tests' zone, DKIM key and loopback DNS server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deliverability.dns_server import LoopbackDns
from tests.sending.test_dkim import ed25519_key


def write_key(path: Path) -> str:
    """A fresh ed25519 DKIM key at ``path``; its public half as the zone's ``p=`` value."""
    record = ed25519_key(path)  # b"v=DKIM1; k=ed25519; p=<base64>"
    return record.split(b"p=", 1)[1].decode()


def zone(public_key: str, *, spf: str | None = "v=spf1 mx ip4:127.0.0.1 -all",
         bounce_spf: str = "v=spf1 include:_spf.coalition.example.org ~all",
         dkim_key: str | None = None, dmarc: str = "v=DMARC1; p=reject; adkim=r; aspf=r",
         mx: bool = True) -> str:  # fmt: skip
    """The coalition's zone as an operator would write it, with one part changed per test."""
    lines = [
        "$TTL 300",
        '_spf.coalition.example.org. IN TXT "v=spf1 ip4:127.0.0.0/8 -all"',
        f'bounces.coalition.example.org. IN TXT "{bounce_spf}"',
        "mx.coalition.example.org. IN A 127.0.0.1",
        f'news2026._domainkey.coalition.example.org. IN TXT "v=DKIM1; k=ed25519; '
        f'p={dkim_key or public_key}"',
        f'_dmarc.coalition.example.org. IN TXT "{dmarc}"',
        "coalition.example.org. IN MX 10 mx.coalition.example.org.",
        # another organisation's domains, for the misaligned set-up
        'mailer.example.net. IN TXT "v=spf1 ip4:127.0.0.1 -all"',
        "mailer.example.net. IN MX 10 mx.coalition.example.org.",
    ]
    if spf is not None:
        lines.append(f'coalition.example.org. IN TXT "{spf}"')
    if mx:
        lines.append("bounces.coalition.example.org. IN MX 10 mx.coalition.example.org.")
    return "\n".join(lines) + "\n"


@pytest.fixture
def key(tmp_path: Path) -> str:
    return write_key(tmp_path / "dkim.pem")


@pytest.fixture
def dns_server(key: str) -> Iterator[LoopbackDns]:
    with LoopbackDns(zone(key)) as server:
        yield server
