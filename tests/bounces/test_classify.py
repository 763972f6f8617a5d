"""Status codes and diagnostics become the right kind of bounce."""

import pytest

from newsletter.bounces.classify import RULES, kind_for_status, normalise_status, reason_for_status
from newsletter.bounces.models import BounceKind, BounceReason
from newsletter.bounces.policy import REASON_POLICY, SUPPRESSING_REASONS, kind_for_reason
from tests.conftest import make_test_settings


@pytest.mark.parametrize(
    ("status", "diagnostic", "kind"),
    [
        ("5.1.1", "smtp; 550 5.1.1 <x@example.org>: Recipient address rejected", BounceKind.HARD),
        ("5.1.10", "RESOLVER.ADR.RecipientNotFound; Recipient not found", BounceKind.HARD),
        ("5.2.1", "The email account that you tried to reach is disabled", BounceKind.SOFT),
        ("5.4.4", "Host or domain name not found", BounceKind.HARD),
        ("4.2.2", "Mailbox full", BounceKind.SOFT),
        ("5.2.2", "mailbox full", BounceKind.SOFT),
        ("4.4.1", "connection timed out", BounceKind.SOFT),
        (
            "5.7.26",
            "Unauthenticated email from example.org is not accepted due to DMARC",
            BounceKind.SENDER_PROBLEM,
        ),
        (
            "5.7.1",
            "Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org",
            BounceKind.SENDER_PROBLEM,
        ),
        ("5.0.0", "Message rejected as spam", BounceKind.SENDER_PROBLEM),
        (
            "4.7.0",
            "IP not in whitelist, poor reputation, try again later",
            BounceKind.SENDER_PROBLEM,
        ),
        ("5.1.8", "Sender address rejected: Domain not found", BounceKind.SENDER_PROBLEM),
        ("5.3.4", "Message too big for system", BounceKind.SOFT),
        (None, "Sorry, no mailbox here by that name.", BounceKind.HARD),
        ("5.0.0", "unrouteable mail domain", BounceKind.SOFT),
        (None, "", BounceKind.SOFT),
    ],
)
def test_kind_for_status(status, diagnostic, kind) -> None:
    assert kind_for_status(status, diagnostic) == kind


def test_status_normalisation() -> None:
    assert normalise_status("5.01.001 (no such user)") == "5.1.1"
    assert normalise_status("X-Unix; 67") is None
    assert normalise_status("") is None


# What real servers write when the *sender* is refused, the mailbox is full or the failure is
# temporary, next to a status code that alone would read as "no such user". None of these may
# ever suppress a supporter.
@pytest.mark.parametrize(
    ("status", "diagnostic", "kind"),
    [
        ("5.1.1", "smtp; 550 5.1.1 Service unavailable; client [192.0.2.10] blocked using "
         "b.barracudacentral.org", BounceKind.SENDER_PROBLEM),
        ("5.1.1", "550 5.1.1 Your IP address 192.0.2.10 is listed on our blacklist",
         BounceKind.SENDER_PROBLEM),
        ("5.4.5", "550 5.4.5 Daily user sending limit exceeded.", BounceKind.SENDER_PROBLEM),
        ("5.1.1", "550 5.1.1 <news@coalition.example.org>: sent too many recipients this hour",
         BounceKind.SENDER_PROBLEM),
        ("5.7.23", "550 5.7.23 The message was rejected because of Sender Policy Framework "
         "violation", BounceKind.SENDER_PROBLEM),
        ("5.1.1", "550 5.1.1 Sender rejected", BounceKind.SENDER_PROBLEM),
        ("5.7.1", "554 5.7.1 <x@example.net>: Relay access denied", BounceKind.SENDER_PROBLEM),
        ("4.7.1", "450 4.7.1 Client host rejected: cannot find your reverse hostname",
         BounceKind.SENDER_PROBLEM),
        ("4.2.0", "451 4.2.0 Greylisted, please try again in 180 seconds",
         BounceKind.SENDER_PROBLEM),
        ("5.2.2", "552 5.2.2 <x@example.net>: Recipient address rejected: Mailbox full",
         BounceKind.SOFT),
        (None, "<x@example.net>: Recipient address rejected: over quota", BounceKind.SOFT),
        (None, "Host or domain name not found. Name service error for name=example.net "
         "type=MX: Host not found, try again", BounceKind.SOFT),
        ("5.4.6", "554 5.4.6 Hop count exceeded - possible mail loop", BounceKind.SOFT),
        (None, "retry timeout exceeded", BounceKind.SOFT),
        (None, "550 Requested action not taken: mailbox unavailable", BounceKind.SOFT),
        (None, "554 delivery error: dd This user doesn't have a yahoo.com account "
         "(x@yahoo.com) [0] - mta1.mail.example.yahoo.com", BounceKind.HARD),
        (None, "550 Recipient address rejected: User unknown in virtual mailbox table",
         BounceKind.HARD),
    ],
)  # fmt: skip
def test_clear_wording_outranks_the_status_code(status, diagnostic, kind) -> None:
    assert kind_for_status(status, diagnostic) == kind


R = BounceReason
# One real-looking example per row of the reason table (`classify.RULES`), in the wording the
# mail systems write: (rule's why, status, diagnostic, reason).
RULE_EXAMPLES = [
    ("bad sender address", "5.1.8", "553 5.1.8 <news@coalition.example.org>: Sender address "
     "rejected: Domain not found", R.SENDER_ADDRESS),
    ("our sender address refused", "5.0.0", "550 Sender address rejected: sender domain "
     "must resolve", R.SENDER_ADDRESS),
    ("Office 365 edge blocking", "5.4.1", "550 5.4.1 Recipient address rejected: Access denied."
     " AS(201806281)", R.USER_UNKNOWN),
    ("no-such-user wording beside a security status", "5.7.1", "550 5.7.1 No such user!",
     R.USER_UNKNOWN),
    ("SPF, DKIM or DMARC", "5.7.26", "550-5.7.26 Unauthenticated email from coalition.example.org"
     " is not accepted due to domain's DMARC policy", R.AUTH_FAILURE),
    ("our IP or domain is listed", "5.7.1", "554 5.7.1 Service unavailable; Client host "
     "[192.0.2.10] blocked using zen.spamhaus.org", R.SENDER_BLOCKLISTED),
    ("we send too fast", "4.7.0", "421 4.7.0 [TSS04] Messages from 192.0.2.10 temporarily "
     "deferred due to unexpected volume or user complaints", R.RATE_LIMITED),
    ("relaying denied", "5.7.1", "554 5.7.1 <x@example.net>: Relay access denied", R.RELAY_DENIED),
    ("greylisting", "4.2.0", "451 4.2.0 Greylisted, please try again in 300 seconds",
     R.GREYLISTED),
    ("spam, content or policy", "5.7.1", "550 5.7.1 Message rejected as spam by Content "
     "Filtering", R.POLICY_BLOCK),
    ("mailbox full", "5.1.1", "552 5.1.1 <x@example.net>: Recipient address rejected: Mailbox "
     "full", R.MAILBOX_FULL),
    ("message too large", None, "552 Message size exceeds fixed maximum message size",
     R.MESSAGE_TOO_LARGE),
    ("temporary DNS failure", "5.4.4", "Host or domain name not found. Name service error for "
     "name=example.net type=MX: Host not found, try again", R.TEMPORARY_DNS),
    ("the relay gave up retrying", "5.4.7", "retry timeout exceeded", R.EXPIRED),
    ("mail loop", "5.4.6", "554 5.4.6 Hop count exceeded - possible mail loop",
     R.TEMPORARY_FAILURE),
    ("account disabled", None, "550 5.2.1 The email account that you tried to reach is disabled",
     R.MAILBOX_DISABLED),
    ("no such user status", "5.1.1", "550 5.1.1 <x@example.net>: Recipient address rejected",
     R.USER_UNKNOWN),
    ("unroutable domain status", "5.1.2", "550 5.1.2 bad destination system address",
     R.DOMAIN_NOT_FOUND),
    ("mailbox disabled status", "5.2.1", "550 5.2.1 mailbox unavailable", R.MAILBOX_DISABLED),
    ("mailbox full status", "4.2.2", "452 4.2.2 please retry", R.MAILBOX_FULL),
    ("size status", "5.3.4", "552 5.3.4 Error: message file too big for system",
     R.MESSAGE_TOO_LARGE),
    ("delivery time expired", "4.4.7", "delivery attempts will stop", R.EXPIRED),
    ("DNS temporary status", "4.4.3", "451 4.4.3 Temporary lookup failure", R.TEMPORARY_DNS),
    ("temporary status", "4.3.0", "451 4.3.0 Temporary local problem", R.TEMPORARY_FAILURE),
    ("security or content status", "5.7.0", "550 5.7.0 Message refused", R.POLICY_BLOCK),
    ("no-such-domain wording", None, "No such domain at this location", R.DOMAIN_NOT_FOUND),
    ("no-such-user wording", None, "Sorry, no mailbox here by that name. (#5.1.1)",
     R.USER_UNKNOWN),
    ("a failure we cannot read: soft, never hard", "5.0.0", "550 Requested action not taken",
     R.UNDETERMINED),
]  # fmt: skip


@pytest.mark.parametrize(("why", "status", "diagnostic", "reason"), RULE_EXAMPLES)
def test_every_rule_of_the_reason_table_reads_its_example(why, status, diagnostic, reason) -> None:
    [rule] = [rule for rule in RULES if rule.why == why]
    assert rule.reason == reason
    assert reason_for_status(status, diagnostic) == reason


def test_every_rule_has_an_example() -> None:
    assert {rule.why for rule in RULES} == {why for why, *_ in RULE_EXAMPLES}


def test_only_dead_address_reasons_suppress(tmp_path) -> None:
    assert {R.USER_UNKNOWN, R.DOMAIN_NOT_FOUND} == SUPPRESSING_REASONS
    sender_side = {reason for reason, row in REASON_POLICY.items() if row.kind == "sender_problem"}
    assert R.SENDER_BLOCKLISTED in sender_side and R.AUTH_FAILURE in sender_side
    assert R.RATE_LIMITED in sender_side and R.MAILBOX_FULL not in sender_side
    assert kind_for_reason(R.MAILBOX_DISABLED, make_test_settings(tmp_path)) == BounceKind.SOFT
    strict = make_test_settings(tmp_path, bounce_disabled_is_hard=True)
    assert kind_for_reason(R.MAILBOX_DISABLED, strict) == BounceKind.HARD
    assert kind_for_reason(R.UNDETERMINED) == BounceKind.SOFT


# Wordings of the world's mail systems, one row per pattern alternative added for them (the
# corpus in tests/bounces/corpus carries each inside a whole bounce): (status, diagnostic,
# reason). Sender-side and "may recover" rows must never read as a dead address.
WORLD_WORDINGS = [
    ("4.7.0", "421 4.7.0 Try again later, closing connection.", R.RATE_LIMITED),
    (None, "host mx.example.net[192.0.2.1] refused to talk to me: 421 service not available",
     R.RATE_LIMITED),
    ("5.4.6", "This message is looping: it already has my Delivered-To line. (#5.4.6)",
     R.TEMPORARY_FAILURE),
    (None, "Message has exceeded maximum hop count", R.TEMPORARY_FAILURE),
    # Office 365 edge blocking is an unknown recipient; a plain Postfix access rule is not
    ("5.4.1", "550 5.4.1 Recipient address rejected: Access denied. AS(201806281)",
     R.USER_UNKNOWN),
    ("5.7.1", "554 5.7.1 <x@example.net>: Recipient address rejected: Access denied",
     R.POLICY_BLOCK),
    ("5.7.1", "550 5.7.1 No such user!", R.USER_UNKNOWN),
    ("5.7.1", "550 5.7.1 No such user, and your IP is listed at zen.spamhaus.org",
     R.SENDER_BLOCKLISTED),
    ("5.0.0", "553 sender address rejected: sender domain does not exist", R.SENDER_ADDRESS),
    (None, "L'adresse de l'expéditeur n'existe pas", R.SENDER_ADDRESS),
    (None, "Absender unbekannt", R.SENDER_ADDRESS),
    (None, "X-Postfix; maildir delivery failed: User disk quota exceeded", R.MAILBOX_FULL),
    (None, "User's mail file has exceeded its quota", R.MAILBOX_FULL),
    (None, "quota violation for mailbox", R.MAILBOX_FULL),
    (None, "452 too much mail data", R.MAILBOX_FULL),
    ("5.0.0", "550 Invalid Recipient - https://community.mimecast.example.com/docs/DOC-1369#550",
     R.USER_UNKNOWN),
    ("5.0.0", "550 Message rejected by Mimecast: content policy", R.POLICY_BLOCK),
    ("5.0.0", "554 Message refused by Proofpoint", R.POLICY_BLOCK),
    ("4.7.1", "450 4.7.1 Client host rejected: cannot find your hostname", R.POLICY_BLOCK),
    ("5.0.0", "550 No such user (x@example.com)", R.USER_UNKNOWN),
    ("5.1.1", "550 5.1.1 <x@example.com>: account is inactive", R.MAILBOX_DISABLED),
    ("5.1.1", "550 5.1.1 mailbox unavailable, user is over quota", R.MAILBOX_FULL),
    ("5.1.6", "551 5.1.6 User has moved; please try <y@example.org>", R.USER_UNKNOWN),
    ("5.1.3", "553 5.1.3 <x..y@example.org>... Invalid address syntax", R.USER_UNKNOWN),
    ("5.7.1", "554 5.7.1 Message rejected because it contains malware", R.POLICY_BLOCK),
    ("5.7.1", "550 5.7.1 Rejected: 192.0.2.11 listed at bl.spamcop.net", R.SENDER_BLOCKLISTED),
    ("5.7.606", "550 5.7.606 Access denied, banned sending IP [192.0.2.11]",
     R.SENDER_BLOCKLISTED),
    ("5.0.0", "Connection to recipient's server failed. Error: 10060 (Connection timed out)",
     R.EXPIRED),
    ("5.0.0", "550 SC-001 Unfortunately, messages from 192.0.2.11 weren't sent. Please contact"
     " your Internet service provider", R.SENDER_BLOCKLISTED),
    ("5.7.1", "550 5.7.1 Part of their network is on our block list (S3150)",
     R.SENDER_BLOCKLISTED),
    ("5.0.0", "553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)",
     R.RELAY_DENIED),
    ("5.0.0", "550 Access denied - Invalid HELO name (See RFC2821 4.1.1.1)", R.POLICY_BLOCK),
    ("5.0.0", "The recipient server did not accept our requests to connect.", R.EXPIRED),
    ("5.0.0", "550 5.1.1 unknown or illegal alias: x@example.org", R.USER_UNKNOWN),
    # German, French, Spanish, Portuguese, Italian, Russian, Chinese, Japanese wordings
    (None, "Grund: Empfänger unbekannt. Die E-Mail-Adresse existiert nicht.", R.USER_UNKNOWN),
    (None, "Das Postfach des Empfängers ist voll.", R.MAILBOX_FULL),
    (None, "Das Konto ist deaktiviert", R.MAILBOX_DISABLED),
    (None, "Die Domain existiert nicht", R.DOMAIN_NOT_FOUND),
    (None, "julie@example.fr : utilisateur inconnu", R.USER_UNKNOWN),
    (None, "552 Boîte du destinataire pleine. OFR_417", R.MAILBOX_FULL),
    (None, "Ce compte est désactivé", R.MAILBOX_DISABLED),
    (None, "domaine inexistant", R.DOMAIN_NOT_FOUND),
    (None, "El usuario no existe: usuario desconocido", R.USER_UNKNOWN),
    (None, "El buzón del destinatario está lleno", R.MAILBOX_FULL),
    (None, "Usuário inexistente", R.USER_UNKNOWN),
    (None, "A caixa postal do destinatário está cheia", R.MAILBOX_FULL),
    (None, "Utente sconosciuto", R.USER_UNKNOWN),
    (None, "La casella di posta è piena", R.MAILBOX_FULL),
    (None, "De ontvanger is onbekend: het adres bestaat niet", R.USER_UNKNOWN),
    (None, "De mailbox van de ontvanger is vol", R.MAILBOX_FULL),
    (None, "Użytkownik nie istnieje", R.USER_UNKNOWN),
    (None, "Skrzynka odbiorcy jest przepełniona", R.MAILBOX_FULL),
    (None, "Причина: пользователь не найден", R.USER_UNKNOWN),
    (None, "Почтовый ящик получателя переполнен.", R.MAILBOX_FULL),
    (None, "Почтовый ящик заблокирован", R.MAILBOX_DISABLED),
    (None, "退信原因：收件人不存在", R.USER_UNKNOWN),
    (None, "对方邮箱空间已满", R.MAILBOX_FULL),
    (None, "该邮箱帐号已冻结", R.MAILBOX_DISABLED),
    (None, "宛先のメールアドレスは存在しません", R.USER_UNKNOWN),
    (None, "メールボックスの容量を超えています", R.MAILBOX_FULL),
    # sender-side wording in other languages outranks a "no such user" status
    ("5.1.1", "550 5.1.1 Die IP-Adresse des Absenders steht auf einer Sperrliste",
     R.SENDER_BLOCKLISTED),
    ("5.1.1", "550 5.1.1 Votre adresse IP figure sur une liste noire", R.SENDER_BLOCKLISTED),
    ("5.1.1", "550 5.1.1 Ваш IP-адрес находится в чёрном списке", R.SENDER_BLOCKLISTED),
    ("5.1.1", "550 5.1.1 您的IP在黑名单中", R.SENDER_BLOCKLISTED),
    ("5.0.0", "554 Сообщение отклонено как спам", R.POLICY_BLOCK),
    ("5.0.0", "554 Message refusé : courrier indésirable", R.POLICY_BLOCK),
    ("5.0.0", "554 邮件被判定为垃圾邮件", R.POLICY_BLOCK),
    # a temporary status keeps dead-address wording soft, in any language
    ("4.0.0", "451 Empfänger unbekannt, bitte später erneut versuchen", R.TEMPORARY_FAILURE),
]  # fmt: skip


@pytest.mark.parametrize(("status", "diagnostic", "reason"), WORLD_WORDINGS)
def test_world_wordings(status, diagnostic, reason) -> None:
    assert reason_for_status(status, diagnostic) == reason
