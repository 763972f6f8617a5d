"""The signed links and addresses every email carries (invariant `opaque-scoped-tokens`).

One place decides what an unsubscribe link, a preference-centre link, the
``List-Unsubscribe`` mailto and a VERP return path look like, so the sending engine
(which writes them), the web pages (which honour them) and the inbound receiver (which
parses them) cannot disagree. Tokens carry opaque ids only: a subscriber's ``public_id``,
optionally scoped to list ids, or a delivery id.

- An unsubscribe token is scoped to the lists the email was sent to: a campaign to "press" and
  "events" carries ``<public id>/<press id>,<events id>`` and leaves the person on their other
  lists. No list (a journey email): from everything. Tokens of the one-list form
  ``<public id>/<list id>`` minted before multi-list scopes read the same.

- Unsubscribe tokens never expire: a supporter must be able to leave from an old email.
- Tokens that travel in an SMTP local part (VERP, mailto) are lower-case base32, because
  MTAs may fold the case of a local part.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from newsletter.config import Settings
from newsletter.tokens import InvalidToken, TokenSigner, signer

UNSUBSCRIBE = "unsubscribe"
UNSUBSCRIBE_BY_MAIL = "unsubscribe-mail"
_HEX = frozenset("0123456789abcdef")
PREFERENCES = "preferences"
VERP = "verp"
_LIST_SCOPE = "/"
_LIST_SEPARATOR = ","


@dataclass(frozen=True)
class UnsubscribeScope:
    """Whom a token unsubscribes, and from which lists (none: from everything)."""

    subscriber_public_id: str
    list_ids: tuple[int, ...] = ()

    @classmethod
    def of(cls, subscriber_public_id: str, list_ids: Iterable[int] = ()) -> UnsubscribeScope:
        """The scope in its one canonical form: list ids sorted, each once."""
        return cls(subscriber_public_id, tuple(sorted(set(list_ids))))

    @property
    def everything(self) -> bool:
        return not self.list_ids


def _unsubscribe_signer(settings: Settings, *, in_local_part: bool = False) -> TokenSigner:
    return signer(
        settings.secret_key,
        UNSUBSCRIBE,
        signature_bytes=10 if in_local_part else 16,
        case_insensitive=in_local_part,
    )


def _scope_subject(scope: UnsubscribeScope) -> str:
    if scope.everything:
        return scope.subscriber_public_id
    lists = _LIST_SEPARATOR.join(str(list_id) for list_id in scope.list_ids)
    return f"{scope.subscriber_public_id}{_LIST_SCOPE}{lists}"


def _parse_scope(subject: str) -> UnsubscribeScope:
    public_id, scoped, lists = subject.partition(_LIST_SCOPE)
    parts = lists.split(_LIST_SEPARATOR) if scoped else []
    if not public_id or not all(part.isdigit() for part in parts):
        raise InvalidToken("malformed unsubscribe subject")
    return UnsubscribeScope.of(public_id, (int(part) for part in parts))


def unsubscribe_token(settings: Settings, scope: UnsubscribeScope) -> str:
    return _unsubscribe_signer(settings).sign(_scope_subject(scope))


def unsubscribe_url(settings: Settings, scope: UnsubscribeScope) -> str:
    """The https link of ``List-Unsubscribe`` and of the footer (GET confirms, POST acts)."""
    return f"{settings.base_url.rstrip('/')}/unsubscribe/{unsubscribe_token(settings, scope)}"


def _mail_signer(settings: Settings) -> TokenSigner:
    return signer(
        settings.secret_key, UNSUBSCRIBE_BY_MAIL, signature_bytes=8, case_insensitive=True
    )


def _packed_scope(scope: UnsubscribeScope) -> bytes | None:
    """The scope in as few bytes as fit an SMTP local part (RFC 5321: at most 64 octets).

    The public id's 16 bytes (it is 32 hex digits), then each list id as a LEB128 varint: with
    base32 and an 8-byte signature, ``unsubscribe+<token>`` stays within 64 octets for up to
    seven lists with ids under 128, or three under 16,384. None for a public id that is not 32
    hex digits (the longer text form is used then).
    """
    public_id = scope.subscriber_public_id
    if len(public_id) != 32 or not all(char in _HEX for char in public_id):
        return None
    packed = bytearray(bytes.fromhex(public_id))
    for list_id in scope.list_ids:
        while list_id >= 0x80:
            packed.append(0x80 | (list_id & 0x7F))
            list_id >>= 7
        packed.append(list_id)
    return bytes(packed)


def _unpacked_scope(packed: bytes) -> UnsubscribeScope:
    if len(packed) < 16 or (len(packed) > 16 and packed[-1] & 0x80):
        raise InvalidToken("malformed unsubscribe payload")
    list_ids, value, shift = [], 0, 0
    for byte in packed[16:]:
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            list_ids.append(value)
            value, shift = 0, 0
    return UnsubscribeScope.of(packed[:16].hex(), list_ids)


def unsubscribe_mailto(settings: Settings, scope: UnsubscribeScope) -> str:
    """The mailto of ``List-Unsubscribe``, answered by the inbound receiver."""
    packed = _packed_scope(scope)
    if packed is not None:
        token = _mail_signer(settings).sign_bytes(packed)
    else:
        token = _unsubscribe_signer(settings, in_local_part=True).sign(_scope_subject(scope))
    return f"mailto:unsubscribe+{token}@{settings.bounce_domain}?subject=unsubscribe"


def parse_unsubscribe_token(settings: Settings, token: str) -> UnsubscribeScope:
    """The scope of a genuine unsubscribe token: from a URL, or a mailto local part (packed, or
    the longer text form that emails sent before the packed one carry)."""
    try:
        return _parse_scope(_unsubscribe_signer(settings).verify(token))
    except InvalidToken:
        pass
    try:
        return _unpacked_scope(_mail_signer(settings).verify_bytes(token))
    except InvalidToken:
        return _parse_scope(_unsubscribe_signer(settings, in_local_part=True).verify(token))


def preferences_token(settings: Settings, subscriber_public_id: str) -> str:
    return signer(settings.secret_key, PREFERENCES).sign(subscriber_public_id)


def preferences_url(settings: Settings, subscriber_public_id: str) -> str:
    token = preferences_token(settings, subscriber_public_id)
    return f"{settings.base_url.rstrip('/')}/preferences/{token}"


def parse_preferences_token(settings: Settings, token: str) -> str:
    return signer(settings.secret_key, PREFERENCES).verify(token)


def _verp_signer(settings: Settings) -> TokenSigner:
    return signer(settings.secret_key, VERP, signature_bytes=8, case_insensitive=True)


def verp_token(settings: Settings, delivery_id: int) -> str:
    """The signed, opaque token naming one delivery (VERP local part and delivery tag)."""
    return _verp_signer(settings).sign(str(delivery_id))


def verp_address(settings: Settings, delivery_id: int, token: str | None = None) -> str:
    """The per-delivery envelope sender: any bounce to it names its delivery.

    ``token``: the delivery's `verp_token` when the caller has it already (one HMAC a message).
    """
    token = token or verp_token(settings, delivery_id)
    return f"bounces+{token}@{settings.bounce_domain}"


def delivery_tag(token: str) -> str:
    """The VERP token as message metadata for providers' webhooks (`rendering.delivery_headers`).

    The same signed token, with "-" for its "." so it passes every provider's rules for metadata
    values (SES message tags allow only letters, digits, "_" and "-"). Never an address.
    """
    return token.replace(".", "-")


def delivery_id_from_tag(settings: Settings, tag: str) -> int | None:
    """The delivery id in a tag a provider echoed back; None for anything else or a forgery."""
    token = tag.strip().replace("-", ".")
    if not token or len(token) > 128:
        return None
    return _verified_delivery_id(settings, token)


def delivery_id_from_verp(settings: Settings, address: str) -> int | None:
    """The delivery id in a VERP address of ours; None for anything else or a forgery."""
    local, _, domain = address.strip().strip("<>").rpartition("@")
    prefix, plus, token = local.partition("+")
    if not plus or prefix.lower() != "bounces" or domain.lower() != settings.bounce_domain.lower():
        return None
    return _verified_delivery_id(settings, token)


def _verified_delivery_id(settings: Settings, token: str) -> int | None:
    try:
        subject = _verp_signer(settings).verify(token)
    except InvalidToken:
        return None
    return int(subject) if subject.isdigit() else None
