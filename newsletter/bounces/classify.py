"""Why a delivery failed (a `BounceReason`); the policy (`bounces.policy`) decides what it does.

Why one module: a DSN, an SMTP-time rejection and a provider webhook all carry the same
RFC 3463 status and a free-text diagnostic. If each source read them its own way, a DMARC
rejection would suppress a good address through one path and raise a staff warning through
another. Every source asks `reason_for_status` (or `kind_for_status`, the reason's policy row).

Order of evidence (``RULES`` below is the same table, first match wins):

=============================================  ====================  ==========================
evidence                                       reason                why first
=============================================  ====================  ==========================
5.1.7, 5.1.8 (bad *sender* address)            sender_address        our envelope sender
wording: sender address/domain does not exist  sender_address        (any language)
wording: SPF, DKIM, DMARC, unauthenticated     auth_failure          servers put 5.1.1 or 5.7.1
wording: blocklist, Spamhaus, reputation, IP   sender_blocklisted    on these: the wording is
wording: greylisted                            greylisted            the truth about *us*
wording: rate limit, too many, throttled       rate_limited
wording: relaying denied                       relay_denied
wording: spam, policy, content, PTR, virus     policy_block
wording: mailbox full, over quota              mailbox_full          5.x on a full mailbox must
wording: message too large                     message_too_large     not suppress
wording: retries exhausted, expired            expired
wording: host not found, try again             temporary_dns
wording: account disabled, suspended           mailbox_disabled
5.1.1, 5.1.0, 5.1.3, 5.1.6, 5.1.10             user_unknown          RFC 3463
5.4.1 + "Recipient address rejected: Access    user_unknown          Office 365 edge blocking
denied"
5.1.2, 5.4.4                                   domain_not_found
5.2.1 / 5.2.2 / 5.3.4, 5.2.3 / 4.4.7           disabled / full / too large / expired
4.4.3 / other 4.x.x                            temporary_dns / temporary_failure
5.7.x + no-such-user wording                   user_unknown          Yandex "5.7.1 No such user!"
5.7.x, 5.6.x                                   policy_block
wording: domain not found, no such domain      domain_not_found      servers without codes
wording: no such user, does not exist          user_unknown
anything else                                  undetermined (soft)   never hard
=============================================  ====================  ==========================

The wording patterns read English, German, French, Spanish, Portuguese, Italian, Dutch, Polish,
Russian, Chinese and Japanese bounces; sender-side wordings in those languages (blocklists,
spam) are checked first too, so a localized "your IP is on a blocklist" next to 5.1.1 stays
a staff warning.

A delivery whose retries ran out (`kind_for_expiry`, RFC 3463 4.4.7 "delivery time expired") is a
soft bounce when the last reply came from the recipient's side (mailbox full, greylisting,
their server down), and a sender problem (a staff warning, never counted against the person)
when it came from our side: no answer from our relay, our relay refusing us, a 421 closing the
session, throttling, or a reason the table reads as ours.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from newsletter.bounces.models import BounceKind, BounceReason
from newsletter.bounces.policy import kind_for_reason

SENDER_ADDRESS_STATUSES = frozenset({"5.1.7", "5.1.8"})
# 5.1.10 is "null MX" in RFC 7505, but Microsoft writes it on every unknown recipient.
USER_UNKNOWN_STATUSES = frozenset({"5.1.0", "5.1.1", "5.1.3", "5.1.6", "5.1.10"})
DOMAIN_STATUSES = frozenset({"5.1.2", "5.4.4"})
# Office 365 Directory-Based Edge Blocking: the tenant does not know the recipient; Microsoft
# answers "550 5.4.1 Recipient address rejected: Access denied. AS(201806281)".
DBEB_TEXT = re.compile(r"recipient address rejected: access denied", re.IGNORECASE)


def _words(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


AUTH_TEXT = _words(
    r"\bdmarc\b|\bspf\b|\bdkim\b|unauthenticated|authentication (failed|required|check)"
    r"|not authori[sz]ed to send|sender policy framework|fails? (the )?(sender )?authentication"
    r"|\barc\b validation|domainkeys"
)
BLOCKLIST_TEXT = _words(
    r"block ?list|black ?list|deny ?list|\brbl\b|\bdnsbl\b|spamhaus|spamcop|barracuda ?central"
    r"|sorbs|\buceprotect|reputation|banned sending ip|(?<!not )listed (at|on|in|by)\b"
    r"|(ip|address|host|network) (address )?(\S+ )?(is |has been )?(blocked|banned|listed)"
    r"|blocked using|poor ip|sender ip .{0,40}(blocked|rejected)|\bsbrs\b|senderbase"
    r"|client host \S* ?blocked|service unavailable; client host|ip ?check"
    # Outlook.com / Hotmail refusing our IP range
    r"|messages from \[?[\d.:a-f]+\]? weren'?t sent|network is on our block list"
    r"|does not relay dial-up|traffic not accepted from this ip"
    # blocklists in other languages: about our IP, never the recipient
    r"|sperrliste|schwarze[n]? liste|liste noire|lista negra|lista nera|czarn\w* list"
    r"|ч[её]рн\w* списк|黑名单|ブラックリスト"
)
RATE_TEXT = _words(
    r"rate[ -]?limit|throttl|too many (recipients|messages|mails|emails|connections|requests"
    r"|sessions|concurrent)|(sending|message|hourly|daily) (limit|quota) (exceeded|reached)"
    r"|exceeded (the )?(rate|sending|message) (limit|rate|quota)|slow down|temporarily deferred"
    r" due to|sent too many|try again in \d+ (minutes|seconds)|frequency limited"
    # Gmail and others close the session with 421 4.7.0 when we send too fast
    r"|try again later,? closing connection|refused to talk to me: 421\b"
)
RELAY_TEXT = _words(
    r"relay(ing)? (access )?(denied|not permitted|prohibited)|not permitted to relay"
    r"|we do not relay|unable to relay|relay not allowed|allowed rcpthosts"
)
GREYLIST_TEXT = _words(r"gr[ae]y ?list")
POLICY_TEXT = _words(
    r"\bspam|junk mail|bulk mail|\bpolicy\b|policies|content (rejected|filter|refused)"
    r"|message (content )?(rejected|refused) (as|due|for|because)|\bvirus|malware|phish"
    r"|suspicious|reverse (dns|hostname|lookup)|\bptr\b|\brdns\b|sender (address )?rejected"
    r"|sender verify|sender (is )?(not )?(allowed|blocked|denied)|\bblocked\b|rejected by"
    r" (recipient'?s? )?(administrator|filter)|\buce\b|unsolicited|not accepted (here|for"
    r" delivery)|permission to post|not allowed to post|client host rejected|anti-spoofing"
    r"|invalid helo|helo command rejected"
    # a gateway's name alone is no reason: Mimecast also answers "550 Invalid Recipient"
    r"|(rejected|blocked|refused) by (mimecast|proofpoint|ironport|barracuda)"
    r"|спам|pourriel|courrier ind[ée]sirable|correo no deseado|垃圾邮件|迷惑メール"
)
FULL_TEXT = _words(
    r"mailbox (is )?full|over ?quota|quota (exceeded|full)|exceeded (the |his |her |their )?"
    r"(storage|quota|mailbox)|insufficient (system )?storage|mailbox (size|storage) limit"
    r"|disk ?quota|mail ?box ?(has )?exceeded|out of storage|storage (space|quota)|is full\b"
    r"|not enough (disk )?space|user is over|capacity exceeded|exceeded (its |the )?quota"
    r"|quota violation|space has been used up|mail ?folder is full|too much mail data"
    r"|full mailbox|mailbox would exceed|exceeded storage allocation"
    # German, French, Spanish, Portuguese, Italian, Russian, Chinese, Japanese
    r"|postfach\b.{0,40}\b(voll|überfüllt)|speicherplatz\b.{0,20}\b(voll|erschöpft|überschritten)"
    r"|kontingent überschritten|bo[îi]te (aux lettres |mail |de r[ée]ception )?(du destinataire )?"
    r"(est )?pleine|quota (d[ée]pass[ée]|atteint)|buz[óo]n (del destinatario )?(est[áa] )?lleno"
    r"|cuota (excedida|superada)|caixa (postal |de correio |de entrada )?(do destinat[áa]rio )?"
    r"(est[áa] )?(cheia|lotada)|cota (excedida|esgotada)|casella (di posta )?(è )?piena"
    r"|(mailbox|postbus) (van de ontvanger )?(is )?vol\b"
    r"|skrzynk\w* (odbiorcy )?(jest )?(pe[łl]na|przepe[łl]niona)"
    r"|переполнен|превышен\w* (квот|лимит|размер)|недостаточно места"
    r"|邮箱(空间)?(已满|满了|容量不足)|空间不足|容量(已满|不足)|超出\w{0,4}(容量|配额)"
    r"|容量(が|を)?(超|オーバー|不足|一杯|いっぱい)|メールボックスが(一杯|いっぱい|満杯)"
)
TOO_LARGE_TEXT = _words(
    r"(message|mail|email) (is |size |file )?(too (large|big)|exceeds)|size (limit|exceeds)"
    r"|exceeds (the )?(maximum|size|message size)|message length exceeds|too large"
)
EXPIRED_TEXT = _words(
    r"retry (timeout|time) (exceeded|reached)|retries exhausted|delivery time expired"
    r"|message expired|expired in queue|could not be delivered (within|for|after) \d+"
    r"|gave up|giving up|maximum time|too long in (the )?queue|queue(d)? too long"
    r"|delivery (attempts )?(timed out|expired)|timed? ?out|timeout|no answer from host"
    r"|connection (refused|timed out|lost)|couldn't (be )?connect|unable to connect"
    r"|did not accept our requests to connect"
)
TEMPORARY_DNS_TEXT = _words(
    r"host not found, try again|temporary failure in name resolution|dns (temporary|temp)"
    r"|name server (timeout|failure)|servfail|dns (lookup|query) (failed|timed out) temporarily"
    r"|try again later .{0,40}dns"
)
LOOP_TEXT = _words(
    r"mail loop|loops back to myself|too many hops|routing loop|loop detected|is looping"
    r"|hop count exceeded|maximum hop count"
)
DISABLED_TEXT = _words(
    r"account (is |has been )?(disabled|suspended|deactivated|closed|inactive|locked|expired"
    r"|blocked|frozen)|mailbox (is |has been )?(disabled|suspended|deactivated|inactive|locked"
    r"|closed|frozen|not active)|inactive (user|account|mailbox)|user (account )?(is )?"
    r"(disabled|suspended|inactive|deactivated)|no longer (active|in use|available)"
    r"|discontinued|account has been terminated|(account|mailbox|address|user)\b.{0,40}\b(is|has"
    r" been|was) (disabled|suspended|deactivated|inactive|closed)\b"
    r"|(konto|postfach) (ist |wurde )?(deaktiviert|gesperrt)"
    r"|compte (est )?(d[ée]sactiv[ée]|suspendu|bloqu[ée])"
    r"|cuenta (est[áa] )?(desactivada|suspendida|deshabilitada|bloqueada)"
    r"|conta (est[áa] )?(desativada|suspensa|bloqueada)|(ящик|аккаунт|учетная запись)\w* "
    r"(заблокирован|отключен)|(帐号|账号|账户|帐户|邮箱)\w{0,2}(冻结|停用|禁用|锁定)"
)
USER_UNKNOWN_TEXT = _words(
    r"no mailbox here|(user|recipient|mailbox|address|account) (was )?not found"
    r"|invalid (recipient|mailbox|address|user)|(user|address) (does not|doesn't) have an?"
    r" ([\w.-]+ )?account|no such person|unknown (address|local(-| )part)|not listed in (the )?"
    r"(domino|public)|does not exist|doesn't exist|no longer exists|not a valid (mailbox|user"
    r"|recipient)|addressee unknown|recipient (is )?(unknown|invalid|rejected: user unknown)"
    r"|unrouteable address|not our customer|is not a known user|(account|user|mailbox) "
    r"(is )?unavailable: not exist|no such (user|mailbox|recipient|account|address)"
    r"|user(name)? unknown|unknown (user|recipient|mailbox)|bad destination mailbox"
    r"|mailbox not exist|user doesn't exist|user not exist|unknown or illegal alias"
    r"|address unknown|no account by that name"
    r"|not an active address|is not a valid user|no mailbox by that name"
    r"|recipient not exist|(recipient|destination) address(es)? (were |was |is )?unknown"
    # German, French, Spanish, Portuguese, Italian, Russian, Chinese, Japanese
    r"|(empfänger|benutzer|adresse|e-mail-adresse)\b.{0,20}\b(unbekannt|existiert nicht)"
    r"|unbekannte[rs]? (empfänger|benutzer)|(utilisateur|destinataire|adresse) (est )?inconnu"
    r"|adresse (e-?mail )?(inexistante|invalide)|compte inexistant|n'existe pas"
    r"|(usuario|destinatario) (desconocido|inexistente|no existe)|no existe (el|ese|dicho) "
    r"(usuario|buz[óo]n|destinatario)|la direcci[óo]n no existe|usu[áa]rio (desconhecido"
    r"|inexistente|n[ãa]o (existe|encontrado))|destinat[áa]rio (desconhecido|inexistente)"
    r"|(conta|endere[çc]o) (inexistente|n[ãa]o existe)|utente (sconosciuto|inesistente)"
    r"|nessun utente|indirizzo (inesistente|non esistente)"
    r"|(gebruiker|ontvanger|adres) (is )?(onbekend|bestaat niet)|u[żz]ytkownik\w* nie istnieje"
    r"|(adres|konto)\w* nie istnieje|nieznany (u[żz]ytkownik|adresat)"
    r"|пользовател\w* (не найден|не существует)|нет такого (пользователя|адреса|ящика)"
    r"|адрес\w* не существует|ящик\w* не существует|несуществующ"
    r"|(收件人|用户|邮箱|帐号|账号|账户|帐户|地址)\w{0,4}不存在|存在しません"
    r"|(アドレス|ユーザ)\w{0,4}(見つかりません|いません)"
)
DOMAIN_TEXT = _words(
    r"domain (name )?not found|no such domain|unknown domain|domain (does not|doesn't) exist"
    r"|host (or domain name )?not found|nxdomain|no mx (record|host)|unrouteable domain"
    r"|name service error|domain .{0,40}(is not|isn't) (valid|registered)|non-existent domain"
    r"|unroutable domain|invalid domain|domain (existiert nicht|nicht gefunden)"
    r"|domaine (inexistant|inconnu|introuvable)|dominio (inexistente|no existe|desconocido)"
    r"|dom[íi]nio (inexistente|n[ãa]o existe)|домен\w* не (существует|найден)|域名不存在"
)
# "Your sender address does not exist" is about us, in any language: never a dead recipient.
SENDER_TEXT = _words(
    r"sender (address|domain)\b.{0,30}\b(does not exist|doesn't exist|not found|unknown|invalid"
    r"|must (exist|resolve))|(absender|exp[ée]diteur|remitente|remetente|отправител\w*)\b.{0,30}"
    r"\b(unbekannt|existiert nicht|inconnu|n'existe pas|inexistant|desconocido|no existe"
    r"|desconhecido|n[ãa]o existe|не существует)"
)
_STATUS = re.compile(r"^[245]\.\d{1,3}\.\d{1,3}$")


def normalise_status(status: str | None) -> str | None:
    """An RFC 3463 status such as ``5.1.1`` (leading zeros dropped), or None."""
    if not status:
        return None
    candidate = status.strip().split()[0] if status.strip() else ""
    if not _STATUS.match(candidate):
        return None
    return ".".join(str(int(part)) for part in candidate.split("."))


@dataclass(frozen=True)
class Rule:
    reason: BounceReason
    why: str
    applies: Callable[[str | None, str], bool]


def _cls(status: str | None) -> str:
    return (status or "")[:1]


def _sub(status: str | None) -> str:
    return ".".join((status or "").split(".")[:2])


def _text(pattern: re.Pattern[str]) -> Callable[[str | None, str], bool]:
    return lambda s, t: bool(pattern.search(t))


def _permanent_text(pattern: re.Pattern[str]) -> Callable[[str | None, str], bool]:
    """Dead-address wording counts only without a temporary (4.x.x) status next to it."""
    return lambda s, t: _cls(s) != "4" and bool(pattern.search(t))


def _status_in(statuses: frozenset[str]) -> Callable[[str | None, str], bool]:
    return lambda s, t: s in statuses


R = BounceReason
RULES: tuple[Rule, ...] = (
    Rule(R.SENDER_ADDRESS, "bad sender address", _status_in(SENDER_ADDRESS_STATUSES)),
    Rule(R.SENDER_ADDRESS, "our sender address refused", _text(SENDER_TEXT)),
    # Clear sender-side wording outranks the status code: servers put 5.1.1 on blocklist and
    # rate-limit rejections; suppressing on the code alone loses a supporter.
    Rule(R.AUTH_FAILURE, "SPF, DKIM or DMARC", _text(AUTH_TEXT)),
    Rule(R.SENDER_BLOCKLISTED, "our IP or domain is listed", _text(BLOCKLIST_TEXT)),
    Rule(R.GREYLISTED, "greylisting", _text(GREYLIST_TEXT)),
    Rule(R.RATE_LIMITED, "we send too fast", _text(RATE_TEXT)),
    Rule(R.RELAY_DENIED, "relaying denied", _text(RELAY_TEXT)),
    Rule(R.POLICY_BLOCK, "spam, content or policy", _text(POLICY_TEXT)),
    # Wording that says the mailbox may recover outranks a 5.x code ("552 5.1.1 mailbox full").
    Rule(R.MAILBOX_FULL, "mailbox full", _text(FULL_TEXT)),
    Rule(R.MESSAGE_TOO_LARGE, "message too large", _text(TOO_LARGE_TEXT)),
    Rule(R.TEMPORARY_DNS, "temporary DNS failure", _text(TEMPORARY_DNS_TEXT)),
    Rule(R.EXPIRED, "the relay gave up retrying", _text(EXPIRED_TEXT)),
    Rule(R.TEMPORARY_FAILURE, "mail loop", _text(LOOP_TEXT)),
    Rule(R.MAILBOX_DISABLED, "account disabled", _permanent_text(DISABLED_TEXT)),
    Rule(R.USER_UNKNOWN, "no such user status", _status_in(USER_UNKNOWN_STATUSES)),
    Rule(
        R.USER_UNKNOWN,
        "Office 365 edge blocking",
        lambda s, t: s == "5.4.1" and bool(DBEB_TEXT.search(t)),
    ),
    Rule(R.DOMAIN_NOT_FOUND, "unroutable domain status", _status_in(DOMAIN_STATUSES)),
    Rule(R.MAILBOX_DISABLED, "mailbox disabled status", _status_in(frozenset({"5.2.1"}))),
    Rule(R.MAILBOX_FULL, "mailbox full status", _status_in(frozenset({"5.2.2", "4.2.2"}))),
    Rule(R.MESSAGE_TOO_LARGE, "size status", _status_in(frozenset({"5.3.4", "5.2.3", "4.3.4"}))),
    Rule(R.EXPIRED, "delivery time expired", _status_in(frozenset({"4.4.7", "5.4.7"}))),
    Rule(R.TEMPORARY_DNS, "DNS temporary status", _status_in(frozenset({"4.4.3", "4.4.4"}))),
    Rule(R.TEMPORARY_FAILURE, "temporary status", lambda s, t: _cls(s) == "4"),
    # Some servers (Yandex: "550 5.7.1 No such user!") put 5.7.1 on an unknown recipient; the
    # sender-side wordings above have had their say, so the plain "no such user" is believed.
    Rule(
        R.USER_UNKNOWN,
        "no-such-user wording beside a security status",
        lambda s, t: _sub(s) == "5.7" and bool(USER_UNKNOWN_TEXT.search(t)),
    ),
    Rule(R.POLICY_BLOCK, "security or content status", lambda s, t: _sub(s) in {"5.7", "5.6"}),
    Rule(R.DOMAIN_NOT_FOUND, "no-such-domain wording", _permanent_text(DOMAIN_TEXT)),
    Rule(R.USER_UNKNOWN, "no-such-user wording", _permanent_text(USER_UNKNOWN_TEXT)),
    Rule(R.UNDETERMINED, "a failure we cannot read: soft, never hard", lambda s, t: True),
)


def reason_for_status(status: str | None, diagnostic: str = "") -> BounceReason:
    """The reason of a failed delivery, by the table above."""
    normalised = normalise_status(status)
    text = " ".join(diagnostic.split())[:4000]
    for rule in RULES:
        if rule.applies(normalised, text):
            return rule.reason
    raise AssertionError("the last rule matches every failure")  # pragma: no cover


def kind_for_status(status: str | None, diagnostic: str = "") -> BounceKind:
    """The bounce kind of a failed delivery: the policy row of its reason."""
    return kind_for_reason(reason_for_status(status, diagnostic))


EXPIRED_STATUS = "4.4.7"
RELAY_SIDE_TEXT = re.compile(
    r"rate[ -]?limit|throttl|too many (messages|mails|emails|connections|requests|sessions)"
    r"|quota exceeded|sending limit|slow down",
    re.IGNORECASE,
)


def kind_for_expiry(
    code: int | None, status: str | None, diagnostic: str, *, relay_refused: bool
) -> BounceKind:
    """The bounce kind of a delivery deferred until its retry deadline (see the module doc)."""
    if code is None or code == 421 or relay_refused or RELAY_SIDE_TEXT.search(diagnostic):
        return BounceKind.SENDER_PROBLEM
    kind = kind_for_status(status or EXPIRED_STATUS, diagnostic)
    return BounceKind.SENDER_PROBLEM if kind == BounceKind.SENDER_PROBLEM else BounceKind.SOFT
