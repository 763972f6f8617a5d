"""Signed tokens: one purpose each, tamper-evident, optionally expiring."""

import pytest

from newsletter.tokens import ExpiredToken, InvalidToken, signer

pytestmark = pytest.mark.date_sensitive

SECRET = "test-secret-key-0123456789abcdef0123456789"


def test_a_token_verifies_to_its_subject() -> None:
    unsubscribe = signer(SECRET, "unsubscribe")
    assert unsubscribe.verify(unsubscribe.sign("sub_abc123")) == "sub_abc123"


def test_a_token_for_one_purpose_is_refused_for_another() -> None:
    token = signer(SECRET, "confirm").sign("sub_abc123")
    with pytest.raises(InvalidToken):
        signer(SECRET, "unsubscribe").verify(token)


def test_a_tampered_token_is_refused() -> None:
    unsubscribe = signer(SECRET, "unsubscribe")
    token = unsubscribe.sign("sub_abc123")
    forged = signer(SECRET, "unsubscribe").sign("sub_other")
    payload_of_forged = forged.split(".")[0]
    with pytest.raises(InvalidToken):
        unsubscribe.verify(payload_of_forged + "." + token.split(".")[1])
    with pytest.raises(InvalidToken):
        unsubscribe.verify(token[:-2] + ("AA" if not token.endswith("AA") else "BB"))


def test_another_secret_key_does_not_verify() -> None:
    token = signer(SECRET, "unsubscribe").sign("sub_abc123")
    with pytest.raises(InvalidToken):
        signer(SECRET + "x", "unsubscribe").verify(token)


def test_an_expired_token_is_refused_and_says_so() -> None:
    confirm = signer(SECRET, "confirm")
    token = confirm.sign("sub_abc123", max_age_seconds=60, now=1_000_000)
    assert confirm.verify(token, now=1_000_059) == "sub_abc123"
    with pytest.raises(ExpiredToken):
        confirm.verify(token, now=1_000_061)


@pytest.mark.parametrize("junk", ["", ".", "abc", "a.b.c", "!!!.???", "x" * 600])
def test_malformed_tokens_are_refused(junk: str) -> None:
    with pytest.raises(InvalidToken):
        signer(SECRET, "unsubscribe").verify(junk)


def test_a_short_verp_token_fits_an_smtp_local_part_and_survives_case_folding() -> None:
    verp = signer(SECRET, "verp", signature_bytes=8, case_insensitive=True)
    token = verp.sign("123456789")
    assert len("bounces+" + token) <= 64
    assert token == token.lower()
    assert verp.verify(token) == "123456789"
    assert verp.verify(token.upper()) == "123456789"
