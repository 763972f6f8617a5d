"""Suppression fingerprints are keyed when ADDRESS_HASH_KEY is set (a separate process)."""

from __future__ import annotations

import hashlib
import hmac
import os
import subprocess
import sys

from newsletter.config import PROJECT_ROOT
from newsletter.subscribers.addresses import address_hash

PROGRAM = (
    "from newsletter.subscribers.addresses import address_hash; "
    "print(address_hash('Ada@example.org'))"
)


def hash_in_process(**env: str) -> str:
    environment = {k: v for k, v in os.environ.items() if k != "ADDRESS_HASH_KEY"} | env
    return subprocess.run(
        [sys.executable, "-c", PROGRAM],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def test_keyed_fingerprint_cannot_be_recomputed_from_the_address_alone():
    key = "installation-pepper-0123456789abcdef"
    keyed = hash_in_process(ADDRESS_HASH_KEY=key)
    plain = hashlib.sha256(b"ada@example.org").hexdigest()
    assert keyed != plain
    assert keyed == hmac.new(key.encode(), b"ada@example.org", hashlib.sha256).hexdigest()
    assert hash_in_process(ADDRESS_HASH_KEY=key) == keyed  # stable across processes


def test_without_a_key_the_fingerprint_is_plain_sha256_of_the_casefolded_address():
    assert hash_in_process() == hashlib.sha256(b"ada@example.org").hexdigest()
    assert address_hash("ADA@example.org") == address_hash("ada@example.org")
