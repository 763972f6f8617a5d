"""DKIM signatures on campaign messages, checked by dkimpy's verifier with the public key."""

from __future__ import annotations

import base64
from pathlib import Path

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from newsletter.config import SettingsError
from newsletter.rendering.compose import compose_variant
from newsletter.rendering.mime import Recipient, personalise
from tests.conftest import make_test_settings
from tests.sending.test_compose_campaign import make_campaign


def rsa_key(path: Path) -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


def ed25519_key(path: Path) -> bytes:
    key = ed25519.Ed25519PrivateKey.generate()
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return b"v=DKIM1; k=ed25519; p=" + base64.b64encode(public)


def signed_message(tmp_path: Path, key_file: str, language: str, recipient: Recipient) -> bytes:
    """A campaign message signed with the key in ``tmp_path/key_file`` (selector news2026)."""
    settings = make_test_settings(
        tmp_path,
        dkim_domain="coalition.example.org",
        dkim_selector="news2026",
        dkim_private_key_path=tmp_path / key_file,
    )
    variant = compose_variant(settings, make_campaign(), language)
    return personalise(settings, variant, recipient).data


ANN = Recipient(9, "ann@example.org", "Ann", "pub-ann")


@pytest.mark.parametrize("make_key", [rsa_key, ed25519_key], ids=["rsa", "ed25519"])
def test_campaign_messages_carry_a_valid_dkim_signature(tmp_path: Path, make_key) -> None:
    record = make_key(tmp_path / "dkim.pem")
    message = signed_message(tmp_path, "dkim.pem", "fr", ANN)
    assert message.startswith(b"DKIM-Signature: v=1;")

    def dns(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"news2026._domainkey.coalition.example.org."
        return record

    assert dkim.verify(message, dnsfunc=dns)
    tampered = message.replace(b"Ann", b"Bob", 1)
    assert not dkim.verify(tampered, dnsfunc=dns)


def test_a_partial_or_unreadable_dkim_configuration_stops_start_up(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="go together"):
        make_test_settings(tmp_path, dkim_domain="coalition.example.org")
    (tmp_path / "bad.pem").write_text("not a key")
    with pytest.raises(SettingsError, match="neither PEM nor"):
        make_test_settings(
            tmp_path,
            dkim_domain="coalition.example.org",
            dkim_selector="s",
            dkim_private_key_path=tmp_path / "bad.pem",
        )


@pytest.mark.parametrize("make_key", [rsa_key, ed25519_key], ids=["rsa", "ed25519"])
def test_signature_survives_a_relay_refolding_headers_and_its_lines_stay_short(
    tmp_path: Path, make_key
) -> None:
    """Headers are canonicalised "relaxed": refolding or re-spacing them keeps it valid."""
    record = make_key(tmp_path / "dkim.pem")
    message = signed_message(tmp_path, "dkim.pem", "en", ANN)
    lines = message.partition(b"\r\n\r\n")[0].split(b"\r\n")
    folded = next(i for i, line in enumerate(lines[1:], 1) if line[:1] not in (b" ", b"\t"))
    signature_lines = lines[:folded]
    assert lines[0].startswith(b"DKIM-Signature:")
    assert all(len(line) <= 78 for line in signature_lines), signature_lines

    def dns(name: bytes, timeout: int = 5) -> bytes:
        return record

    refolded = message.replace(b"\r\nSubject: ", b"\r\nSubject:\r\n\t  ", 1)
    assert refolded != message and dkim.verify(refolded, dnsfunc=dns)
    changed_body = message.replace(b"</html>", b"</HTML>")
    assert changed_body != message and not dkim.verify(changed_body, dnsfunc=dns)


def test_an_ed25519_seed_from_dknewkey_signs_verifiably(tmp_path: Path) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    seed = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    (tmp_path / "seed.key").write_bytes(base64.b64encode(seed) + b"\n")
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    eve = Recipient(3, "eve@example.org", "", "pub-eve")
    message = signed_message(tmp_path, "seed.key", "fr", eve)
    record = b"v=DKIM1; k=ed25519; p=" + base64.b64encode(public)
    assert dkim.verify(message, dnsfunc=lambda name, timeout=5: record)
