"""The deliverability check: each finding says what is wrong, in plain words, and the fix.

Looks at the installation's own setup through DNS and the network, never at subscribers:
- SPF of the From domain and of the envelope (bounce) domain authorises the relay;
- the DKIM selector's TXT record holds the public half of the configured key;
- a DMARC record exists, and From aligns with DKIM's d= or with the SPF domain;
- the MX of BOUNCE_DOMAIN leads to the inbound receiver (INBOUND_MX_HOST);
- BASE_URL is https and its one-click unsubscribe endpoint answers a POST;
- the relay offers STARTTLS with a certificate that verifies.
"""

from __future__ import annotations

import base64
import smtplib
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from cryptography.hazmat.primitives import serialization

from newsletter.config import Settings
from newsletter.deliverability.dns_records import (
    DnsUnavailable,
    Lookup,
    SpfResult,
    evaluate_spf,
    make_resolver,
)
from newsletter.delivery.dkim_signing import load_key
from newsletter.observability.system import relay_targets

Verdict = Literal["ok", "warning", "problem"]


@dataclass(frozen=True)
class Finding:
    check: str  # spf_from, spf_envelope, dkim, dmarc, mx, https, one_click, starttls
    verdict: Verdict
    summary: str
    fix: str = ""


def org_domain(domain: str) -> str:
    """The registrable part, approximated by the last two labels (DMARC relaxed alignment)."""
    return ".".join(domain.lower().rstrip(".").split(".")[-2:])


def aligned(a: str, b: str) -> bool:
    return org_domain(a) == org_domain(b)


def from_domain(settings: Settings) -> str:
    return settings.from_address.rpartition("@")[2].lower()


def relay_ips(lookup: Lookup, settings: Settings) -> tuple[str, list[str]]:
    targets = relay_targets(settings)
    if not targets:
        return "", []
    return targets[0].host, lookup.addresses(targets[0].host)


def check_spf(
    lookup: Lookup, settings: Settings, which: str, domain: str
) -> tuple[Finding, SpfResult | None]:
    host, ips = relay_ips(lookup, settings)
    label = "From" if which == "spf_from" else "envelope (bounce)"
    if not host:
        return Finding(which, "warning", "No SMTP relay is configured (mail goes to the outbox).",
                       "Set SMTP_URL to your provider's relay before sending."), None  # fmt: skip
    if not ips:
        return Finding(which, "problem", f"The relay's name {host} does not resolve.",
                       "Check SMTP_URL."), None  # fmt: skip
    result = evaluate_spf(lookup, domain, ips)
    if result.record is None:
        return Finding(
            which, "problem", f"The {label} domain {domain} publishes no SPF record.",
            f'Add a TXT record at {domain}: "v=spf1 include:<your provider> -all" '
            f"(or ip4:{ips[0]}); your provider documents the exact include.",
        ), result  # fmt: skip
    if not result.passes:
        return Finding(
            which, "problem",
            f"The SPF record of {domain} ({result.record}) does not authorise the relay {host}: "
            f"{result.detail}.",
            f"Add the relay to the record, e.g. ip4:{ips[0]} or your provider's include:.",
        ), result  # fmt: skip
    return Finding(which, "ok", f"SPF of {domain} authorises the relay {host}."), result


def _public_key_b64(settings: Settings) -> str:
    assert settings.dkim_private_key_path is not None
    _algorithm, key = load_key(settings.dkim_private_key_path)
    public = key.public_key()
    if hasattr(public, "key_size"):  # RSA: SubjectPublicKeyInfo DER, as dknewkey prints it
        data = public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    else:
        data = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(data).decode()


def _tags(record: str) -> dict[str, str]:
    tags = {}
    for part in record.split(";"):
        name, _, value = part.strip().partition("=")
        if name:
            tags[name.strip().lower()] = "".join(value.split())
    return tags


def check_dkim(lookup: Lookup, settings: Settings) -> Finding:
    if settings.dkim_private_key_path is None:
        return Finding("dkim", "warning", "Mail is not DKIM-signed.",
                       "Create a key (dknewkey), publish it, and set DKIM_DOMAIN, DKIM_SELECTOR "
                       "and DKIM_PRIVATE_KEY_PATH.")  # fmt: skip
    name = f"{settings.dkim_selector}._domainkey.{settings.dkim_domain}"
    expected = _public_key_b64(settings)
    records = [r for r in lookup.records(name, "TXT") if "p=" in r]
    if not records:
        return Finding("dkim", "problem", f"No DKIM key is published at {name}.",
                       f'Add a TXT record at {name}: "v=DKIM1; p={expected[:16]}…" '
                       "(the public half of DKIM_PRIVATE_KEY_PATH).")  # fmt: skip
    if not any(_tags(record).get("p") == expected for record in records):
        return Finding("dkim", "problem",
                       f"The key published at {name} is not the one this installation signs with: "
                       "receivers will find every signature broken.",
                       "Publish the public half of DKIM_PRIVATE_KEY_PATH there (or point "
                       "DKIM_SELECTOR at the selector of the key you use).")  # fmt: skip
    return Finding("dkim", "ok", f"The DKIM key at {name} matches the signing key.")


def check_dmarc(lookup: Lookup, settings: Settings, spf_envelope: SpfResult | None) -> Finding:
    domain = from_domain(settings)
    records = lookup.txt_starting(f"_dmarc.{domain}", "v=DMARC1")
    if not records and org_domain(domain) != domain:
        records = lookup.txt_starting(f"_dmarc.{org_domain(domain)}", "v=DMARC1")
    if not records:
        return Finding("dmarc", "problem", f"{domain} publishes no DMARC record; Gmail and Yahoo "
                       "require one from bulk senders.",
                       f'Add a TXT record at _dmarc.{domain}: "v=DMARC1; p=none; '
                       f'rua=mailto:dmarc@{domain}", then tighten p= once reports look '
                       "clean.")  # fmt: skip
    policy = _tags(records[0]).get("p", "none").lower()
    dkim_ok = settings.dkim_domain is not None and aligned(settings.dkim_domain, domain)
    spf_ok = bool(spf_envelope and spf_envelope.passes) and aligned(settings.bounce_domain, domain)
    if dkim_ok or spf_ok:
        by = " and ".join(n for n, ok in (("DKIM", dkim_ok), ("SPF", spf_ok)) if ok)
        return Finding("dmarc", "ok", f"DMARC (p={policy}) finds From aligned through {by}.")
    verdict: Verdict = "problem" if policy in {"reject", "quarantine"} else "warning"
    consequence = {"reject": "receivers will refuse", "quarantine": "receivers will file as spam"}
    return Finding(
        "dmarc", verdict,
        f"From ({domain}) aligns with neither the DKIM domain ({settings.dkim_domain or 'none'}) "
        f"nor the SPF domain ({settings.bounce_domain}); with p={policy} "
        f"{consequence.get(policy, 'receivers may distrust')} your mail.",
        f"Sign with DKIM_DOMAIN={domain} (or a subdomain of it), or use a BOUNCE_DOMAIN under "
        f"{org_domain(domain)} whose SPF authorises the relay.",
    )  # fmt: skip


def check_mx(lookup: Lookup, settings: Settings) -> Finding:
    domain = settings.bounce_domain
    exchanges = lookup.records(domain, "MX")
    if not exchanges:
        return Finding("mx", "problem", f"BOUNCE_DOMAIN {domain} has no MX record: bounces and "
                       "mailed unsubscribes never reach the service.",
                       f"Add an MX record for {domain} pointing at the host where `newsletter "
                       "inbound` listens (INBOUND_MX_HOST).")  # fmt: skip
    wanted = (settings.inbound_mx_host or "").lower().rstrip(".")
    if not wanted:
        return Finding("mx", "warning", f"{domain} has an MX ({exchanges[0]}), but INBOUND_MX_HOST "
                       "is not set, so it cannot be compared.",
                       "Set INBOUND_MX_HOST to the inbound receiver's host name.")  # fmt: skip
    if wanted in exchanges:
        return Finding("mx", "ok", f"The MX of {domain} leads to the inbound receiver ({wanted}).")
    wanted_ips = set(lookup.addresses(wanted))
    if wanted_ips and any(set(lookup.addresses(mx)) & wanted_ips for mx in exchanges):
        return Finding("mx", "ok", f"The MX of {domain} resolves to the inbound receiver.")
    return Finding("mx", "problem",
                   f"The MX of {domain} ({', '.join(exchanges)}) does not lead to the inbound "
                   f"receiver ({wanted}).",
                   f"Point the MX of {domain} at {wanted}.")  # fmt: skip


def check_https(settings: Settings) -> Finding:
    if settings.base_url.startswith("https://"):
        return Finding("https", "ok", "BASE_URL uses https.")
    return Finding("https", "problem", f"BASE_URL ({settings.base_url}) is not https: links carry "
                   "tokens, and Gmail and Yahoo want one-click unsubscribe over https.",
                   "Put a TLS reverse proxy in front of the web process and set BASE_URL to "
                   "https://….")  # fmt: skip


def check_one_click(settings: Settings, timeout: float = 5.0) -> Finding:
    """POST an RFC 8058 request with a token nobody holds: the app answers 'invalid link'."""
    url = f"{settings.base_url}/unsubscribe/doctor-check"
    request = urllib.request.Request(  # noqa: S310 - the operator's own BASE_URL
        url, data=b"List-Unsubscribe=One-Click", method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status, body = response.status, response.read(200)
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read(200)
    except (OSError, ValueError) as exc:
        return Finding("one_click", "problem", f"{url} cannot be reached ({type(exc).__name__}).",
                       "Make BASE_URL reachable from the internet: mail providers POST there "
                       "when someone clicks Unsubscribe.")  # fmt: skip
    if status in {200, 202, 204} or (status == 404 and body.startswith(b"invalid link")):
        return Finding("one_click", "ok", "The one-click unsubscribe endpoint answers POST.")
    return Finding("one_click", "problem",
                   f"The one-click unsubscribe endpoint answered {status} to a POST.",
                   "Make sure the reverse proxy passes POST /unsubscribe/… to the web process "
                   "without a login or a cookie.")  # fmt: skip


def check_starttls(settings: Settings, timeout: float = 10.0) -> Finding:
    targets = relay_targets(settings)
    if not targets:
        return Finding("starttls", "warning", "No SMTP relay is configured.", "Set SMTP_URL.")
    target = targets[0]
    context = ssl.create_default_context()
    try:
        if target.security == "tls":
            with smtplib.SMTP_SSL(target.host, target.port, timeout=timeout, context=context):
                pass
        else:
            with smtplib.SMTP(target.host, target.port, timeout=timeout) as smtp:
                smtp.ehlo()
                if not smtp.has_extn("starttls"):
                    return Finding("starttls", "problem", f"The relay {target.host} does not offer "
                                   "STARTTLS: messages and the password cross the network in "
                                   "clear.", "Use your provider's submission port (587, "
                                   "smtp+starttls://) or 465 (smtps://).")  # fmt: skip
                smtp.starttls(context=context)
    except ssl.SSLCertVerificationError as exc:
        return Finding("starttls", "problem",
                       f"The relay's TLS certificate does not verify ({exc.verify_message}).",
                       "Use the relay's real host name in SMTP_URL, or ask the provider to fix "
                       "its certificate.")  # fmt: skip
    except (OSError, smtplib.SMTPException) as exc:
        return Finding("starttls", "problem",
                       f"Cannot talk TLS to the relay {target.host}:{target.port} "
                       f"({type(exc).__name__}).", "Check SMTP_URL and the firewall.")  # fmt: skip
    if target.security == "none":
        return Finding("starttls", "warning", "The relay offers STARTTLS with a valid certificate, "
                       "but SMTP_URL does not use it.",
                       "Use smtp+starttls:// in SMTP_URL.")  # fmt: skip
    return Finding("starttls", "ok", "The relay offers TLS with a valid certificate.")


def run_checks(settings: Settings, *, network: bool = True) -> list[Finding]:
    """Every check in order; ``network=False`` skips the HTTP and SMTP probes."""
    lookup = Lookup(make_resolver(settings))
    findings: list[Finding] = []

    def guarded(check: str, run: Callable[[], Finding]) -> None:
        try:
            findings.append(run())
        except DnsUnavailable as exc:
            findings.append(Finding(check, "warning", f"Could not check: {exc}.",
                                    "Check DNS_NAMESERVER or the network."))  # fmt: skip

    spf_envelope: list[SpfResult | None] = [None]

    def spf(which: str, domain: str) -> Finding:
        finding, result = check_spf(lookup, settings, which, domain)
        if which == "spf_envelope":
            spf_envelope[0] = result
        return finding

    guarded("spf_from", lambda: spf("spf_from", from_domain(settings)))
    guarded("spf_envelope", lambda: spf("spf_envelope", settings.bounce_domain))
    guarded("dkim", lambda: check_dkim(lookup, settings))
    guarded("dmarc", lambda: check_dmarc(lookup, settings, spf_envelope[0]))
    guarded("mx", lambda: check_mx(lookup, settings))
    findings.append(check_https(settings))
    if network:
        findings.append(check_one_click(settings))
        findings.append(check_starttls(settings))
    return findings
