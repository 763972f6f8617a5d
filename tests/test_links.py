"""The links and addresses every email carries: round trips, scopes, forgeries."""

from pathlib import Path

import pytest

from newsletter.links import (
    UnsubscribeScope,
    delivery_id_from_verp,
    parse_preferences_token,
    parse_unsubscribe_token,
    preferences_url,
    unsubscribe_mailto,
    unsubscribe_url,
    verp_address,
)
from newsletter.tokens import InvalidToken
from tests.conftest import make_test_settings


@pytest.fixture
def settings(tmp_path: Path):
    return make_test_settings(tmp_path)


def test_unsubscribe_url_round_trips_with_and_without_a_list(settings) -> None:
    for scope in (UnsubscribeScope("abc123"), UnsubscribeScope.of("abc123", [7])):
        url = unsubscribe_url(settings, scope)
        assert url.startswith("http://127.0.0.1:8000/unsubscribe/")
        assert parse_unsubscribe_token(settings, url.rsplit("/", 1)[1]) == scope


def test_unsubscribe_mailto_token_survives_case_folding(settings) -> None:
    mailto = unsubscribe_mailto(settings, UnsubscribeScope.of("abc123", [3]))
    local = mailto.removeprefix("mailto:").split("@")[0]
    assert local.startswith("unsubscribe+") and len(local) <= 64
    token = local.split("+", 1)[1]
    assert parse_unsubscribe_token(settings, token.upper()) == UnsubscribeScope.of("abc123", [3])


def test_a_preferences_token_is_not_an_unsubscribe_token(settings) -> None:
    token = preferences_url(settings, "abc123").rsplit("/", 1)[1]
    assert parse_preferences_token(settings, token) == "abc123"
    with pytest.raises(InvalidToken):
        parse_unsubscribe_token(settings, token)


def test_verp_address_names_its_delivery_and_refuses_forgeries(settings) -> None:
    address = verp_address(settings, 123456789)
    assert address.endswith("@bounces.coalition.example.org")
    assert len(address.split("@")[0]) <= 64
    assert delivery_id_from_verp(settings, address) == 123456789
    assert delivery_id_from_verp(settings, "<" + address.upper() + ">") == 123456789
    forged = verp_address(settings, 1).split("+")[0] + "+" + "a" * 20 + "@" + settings.bounce_domain
    assert delivery_id_from_verp(settings, forged) is None
    assert delivery_id_from_verp(settings, "postmaster@" + settings.bounce_domain) is None
    other_domain = address.split("@")[0] + "@example.net"
    assert delivery_id_from_verp(settings, other_domain) is None


def test_list_unsubscribe_headers_carry_https_and_mailto_and_one_click(settings) -> None:
    from newsletter.rendering.list_headers import list_unsubscribe_headers

    headers = list_unsubscribe_headers(settings, UnsubscribeScope.of("abc123", [2]))
    https, mailto = (part.strip(" <>") for part in headers["List-Unsubscribe"].split(","))
    assert https.startswith("http://127.0.0.1:8000/unsubscribe/")
    assert mailto.startswith("mailto:unsubscribe+")
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parse_unsubscribe_token(settings, https.rsplit("/", 1)[1]) == UnsubscribeScope.of(
        "abc123", [2]
    )


def test_an_unsubscribe_scope_may_name_several_lists_and_old_one_list_tokens_still_read(
    settings,
) -> None:
    from newsletter.links import _unsubscribe_signer

    scope = UnsubscribeScope.of("abc123", [9, 3, 9])
    assert scope.list_ids == (3, 9) and not scope.everything
    for url in (unsubscribe_url(settings, scope), unsubscribe_mailto(settings, scope)):
        token = url.rsplit("/", 1)[1] if url.startswith("http") else url.split("+")[1].split("@")[0]
        assert parse_unsubscribe_token(settings, token) == scope
    one_list = _unsubscribe_signer(settings).sign("abc123/7")  # as minted before several lists
    assert parse_unsubscribe_token(settings, one_list) == UnsubscribeScope.of("abc123", [7])
    for subject in ("abc123/", "abc123/3,", "abc123/3,x", "/3"):
        with pytest.raises(InvalidToken):
            parse_unsubscribe_token(settings, _unsubscribe_signer(settings).sign(subject))


def _local_part(mailto: str) -> str:
    return mailto.removeprefix("mailto:").split("@", 1)[0]


def test_the_mailto_local_part_fits_rfc_5321_for_a_campaign_to_several_lists(settings) -> None:
    public_id = "9f" * 16  # what new_public_id makes: 32 hex digits
    for list_ids in ([], [1], [3, 250], [1, 2, 3, 4, 5, 6, 7], [300, 5_000, 16_000]):
        scope = UnsubscribeScope.of(public_id, list_ids)
        local = _local_part(unsubscribe_mailto(settings, scope))
        assert len(local) <= 64, (list_ids, len(local))
        token = local.removeprefix("unsubscribe+")
        assert parse_unsubscribe_token(settings, token) == scope
        assert parse_unsubscribe_token(settings, token.upper()) == scope  # an MTA folded it
        forged = token[:-1] + ("a" if token[-1] != "a" else "b")
        with pytest.raises(InvalidToken):
            parse_unsubscribe_token(settings, forged)


def test_mailto_tokens_of_emails_sent_before_the_packed_form_still_unsubscribe(settings) -> None:
    """The earlier local-part form: the text scope, lower-case base32, a 10-byte signature."""
    from newsletter.tokens import signer

    old = signer(settings.secret_key, "unsubscribe", signature_bytes=10, case_insensitive=True)
    scope = UnsubscribeScope.of("9f" * 16, [4, 5])
    assert parse_unsubscribe_token(settings, old.sign(f"{'9f' * 16}/4,5")) == scope
    assert parse_unsubscribe_token(settings, old.sign("9f" * 16)) == UnsubscribeScope("9f" * 16)
