"""DNS look-ups for the deliverability check, on the configured resolver, and SPF evaluation.

``DNS_NAMESERVER`` (``host[:port]``) points every look-up at one server (the tests' loopback
server, or a local resolver); unset, the system's resolvers answer. SPF is evaluated for the
relay's addresses with the mechanisms senders use (ip4, ip6, a, mx, include, redirect, all),
within RFC 7208's limit of 10 look-ups; macros and exists are reported as unsupported.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import dns.exception
import dns.resolver

from newsletter.config import Settings

LOOKUP_LIMIT = 10


def make_resolver(settings: Settings) -> dns.resolver.Resolver:
    """A resolver on ``DNS_NAMESERVER`` when set, else the system's."""
    if not settings.dns_nameserver:
        resolver = dns.resolver.Resolver()
    else:
        host, _colon, port = settings.dns_nameserver.rpartition(":")
        if not host or not port.isdigit():
            host, port = settings.dns_nameserver, "53"
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [host.strip("[]")]
        resolver.port = int(port)
    resolver.lifetime = settings.dns_timeout
    return resolver


class Lookup:
    """Look-ups that answer ``[]`` for "no such record" and raise `DnsUnavailable` otherwise."""

    def __init__(self, resolver: dns.resolver.Resolver) -> None:
        self.resolver = resolver

    def records(self, name: str, kind: str) -> list[str]:
        try:
            answer = self.resolver.resolve(name, kind, raise_on_no_answer=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except (dns.exception.Timeout, dns.resolver.NoNameservers) as exc:
            raise DnsUnavailable(f"no answer from DNS for {name} {kind}: {exc}") from None
        if kind == "TXT":
            return [b"".join(rdata.strings).decode("utf-8", "replace") for rdata in answer]
        if kind == "MX":
            ordered = sorted(answer, key=lambda rdata: rdata.preference)
            return [str(rdata.exchange).rstrip(".").lower() for rdata in ordered]
        return [rdata.to_text() for rdata in answer]

    def addresses(self, name: str) -> list[str]:
        try:
            return [str(ipaddress.ip_address(name))]
        except ValueError:
            return self.records(name, "A") + self.records(name, "AAAA")

    def txt_starting(self, name: str, prefix: str) -> list[str]:
        return [t for t in self.records(name, "TXT") if t.lower().startswith(prefix.lower())]


class DnsUnavailable(RuntimeError):
    """DNS did not answer (time-out, refused): nothing can be concluded."""


@dataclass(frozen=True)
class SpfResult:
    record: str | None  # None: the domain publishes no SPF record
    passes: bool
    detail: str


def evaluate_spf(lookup: Lookup, domain: str, ips: list[str]) -> SpfResult:
    """Does ``domain``'s SPF record authorise every one of ``ips``?"""
    records = lookup.txt_starting(domain, "v=spf1")
    if not records:
        return SpfResult(None, False, "no SPF record")
    if len(records) > 1:
        return SpfResult(records[0], False, "more than one SPF record (receivers treat it as none)")
    budget = [LOOKUP_LIMIT]
    failing = []
    for ip in ips:
        verdict = _check(lookup, domain, ipaddress.ip_address(ip), budget, depth=0)
        if verdict != "pass":
            failing.append(ip)
    if failing:
        return SpfResult(records[0], False, f"does not authorise the relay ({', '.join(failing)})")
    return SpfResult(records[0], True, "authorises the relay")


def _check(lookup: Lookup, domain: str, ip: ipaddress._BaseAddress, budget: list[int],
           depth: int) -> str:  # fmt: skip
    records = lookup.txt_starting(domain, "v=spf1")
    if len(records) != 1 or depth > 10:
        return "permerror" if records else "none"
    redirect = None
    for term in records[0].split()[1:]:
        qualifier, mechanism = ("+", term) if term[0] not in "+-~?" else (term[0], term[1:])
        name, _, value = mechanism.partition(":")
        name = name.split("/")[0].lower()
        if name.startswith("redirect="):
            redirect = mechanism.partition("=")[2]
            continue
        if "=" in name:  # exp= and unknown modifiers
            continue
        if name in {"include", "a", "mx", "exists"}:
            budget[0] -= 1
            if budget[0] < 0:
                return "permerror"
        if _matches(lookup, name, value or domain, mechanism, ip, budget, depth):
            return "pass" if qualifier == "+" else "fail"
    if redirect:
        budget[0] -= 1
        return _check(lookup, redirect, ip, budget, depth + 1) if budget[0] >= 0 else "permerror"
    return "neutral"


def _matches(lookup: Lookup, name: str, target: str, mechanism: str,
             ip: ipaddress._BaseAddress, budget: list[int], depth: int) -> bool:  # fmt: skip
    prefix = mechanism.partition("/")[2]
    if name == "all":
        return True
    if name in {"ip4", "ip6"}:
        try:
            return ip in ipaddress.ip_network(mechanism.partition(":")[2], strict=False)
        except ValueError:
            return False
    if name == "include":
        return _check(lookup, target, ip, budget, depth + 1) == "pass"
    host = target.split("/")[0]
    if name == "a":
        hosts = [host]
    elif name == "mx":
        hosts = lookup.records(host, "MX")
    else:
        return False  # exists, ptr, macros: not evaluated
    for each in hosts:
        for address in lookup.addresses(each):
            bits = int(prefix) if prefix.isdigit() else None
            network = ipaddress.ip_network(f"{address}/{bits}" if bits else address, strict=False)
            if ip in network:
                return True
    return False
