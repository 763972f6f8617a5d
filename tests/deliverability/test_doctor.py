"""The deliverability check against a real DNS server on loopback, a real web server and relays.

One correct zone passes; each broken zone (no SPF, SPF without the relay, a wrong DKIM key,
DMARC p=reject with nothing aligned, no MX) is reported as that fault, with a fix.
"""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import pytest

from newsletter.config import PROJECT_ROOT, Settings
from newsletter.deliverability.checks import Finding, run_checks
from newsletter.web.app import create_app
from tests.conftest import make_test_settings, settings_env
from tests.deliverability.conftest import zone
from tests.deliverability.dns_server import LoopbackDns

DNS_CHECKS = ("spf_from", "spf_envelope", "dkim", "dmarc", "mx")


def doctor_settings(tmp_path: Path, dns_server: LoopbackDns, smtp_url: str, **extra) -> Settings:
    values: dict[str, object] = {
        "from_address": "news@coalition.example.org",
        "bounce_domain": "bounces.coalition.example.org",
        "dkim_domain": "coalition.example.org",
        "dkim_selector": "news2026",
        "dkim_private_key_path": tmp_path / "dkim.pem",
        "smtp_url": smtp_url,
        "inbound_mx_host": "mx.coalition.example.org",
        "dns_nameserver": dns_server.nameserver,
        "dns_timeout": 3,
    }
    values.update(extra)
    return make_test_settings(tmp_path, **values)


def by_check(findings: list[Finding]) -> dict[str, Finding]:
    return {finding.check: finding for finding in findings}


def test_the_correct_zone_passes_every_dns_check(tmp_path, dns_server, smtp_server) -> None:
    found = by_check(run_checks(doctor_settings(tmp_path, dns_server, smtp_server.url),
                                network=False))  # fmt: skip
    assert {name: found[name].verdict for name in DNS_CHECKS} == dict.fromkeys(DNS_CHECKS, "ok")
    assert found["https"].verdict == "problem"  # the test's BASE_URL is http://


@pytest.mark.parametrize(
    ("broken", "check", "words"),
    [
        ({"spf": None}, "spf_from", "publishes no SPF record"),
        ({"spf": "v=spf1 ip4:192.0.2.10 include:_spf.relay.example -all"}, "spf_from",
         "does not authorise the relay"),
        ({"bounce_spf": "v=spf1 ip4:198.51.100.0/24 -all"}, "spf_envelope",
         "does not authorise the relay"),
        ({"dkim_key": base64.b64encode(b"k" * 32).decode()}, "dkim", "not the one"),
        ({"mx": False}, "mx", "has no MX record"),
    ],
    ids=["no-spf", "spf-without-relay", "envelope-spf-without-relay", "wrong-dkim-key", "no-mx"],
)  # fmt: skip
def test_each_broken_zone_reports_its_fault(
    tmp_path, key, dns_server, smtp_server, broken, check, words
) -> None:
    dns_server.serve(zone(key, **broken))
    found = by_check(run_checks(doctor_settings(tmp_path, dns_server, smtp_server.url),
                                network=False))  # fmt: skip
    assert found[check].verdict == "problem"
    assert words in found[check].summary
    assert found[check].fix
    others = [name for name in DNS_CHECKS if name != check]
    assert all(found[name].verdict == "ok" for name in others), found


def test_dmarc_reject_without_alignment_is_reported(tmp_path, key, dns_server, smtp_server) -> None:
    """Signed and SPF-checked for another organisation's domain: DMARC of From fails."""
    other = f'news2026._domainkey.mailer.example.net. IN TXT "v=DKIM1; k=ed25519; p={key}"\n'
    dns_server.serve(zone(key) + other)
    elsewhere = {"dkim_domain": "mailer.example.net", "bounce_domain": "mailer.example.net"}
    settings = doctor_settings(tmp_path, dns_server, smtp_server.url, **elsewhere)
    found = by_check(run_checks(settings, network=False))
    assert found["dkim"].verdict == "ok" and found["spf_envelope"].verdict == "ok"
    assert found["dmarc"].verdict == "problem"
    assert "p=reject" in found["dmarc"].summary and "refuse" in found["dmarc"].summary


def test_a_dns_server_that_does_not_answer_is_not_called_a_fault(
    tmp_path, key, smtp_server
) -> None:
    with LoopbackDns(zone(key)) as server:
        settings = doctor_settings(tmp_path, server, smtp_server.url, dns_timeout=1)
    found = by_check(run_checks(settings, network=False))  # the server is stopped now
    assert all(found[name].verdict == "warning" for name in DNS_CHECKS)
    assert "Could not check" in found["spf_from"].summary


def test_one_click_unsubscribe_answers_post_on_the_running_app(
    tmp_path, dns_server, smtp_server, sqlite_url, live_server
) -> None:
    settings = doctor_settings(tmp_path, dns_server, smtp_server.url, database_url=sqlite_url)
    base_url = live_server(create_app(settings))
    live = settings.model_copy(update={"base_url": base_url})
    assert by_check(run_checks(live))["one_click"].verdict == "ok"
    gone = settings.model_copy(update={"base_url": base_url + "/nowhere"})
    assert by_check(run_checks(gone))["one_click"].verdict == "problem"


def test_relay_tls_is_checked(tmp_path, dns_server, smtp_server, smtp_server_factory) -> None:
    plain = by_check(run_checks(doctor_settings(tmp_path, dns_server, smtp_server.url)))
    assert plain["starttls"].verdict == "problem"
    assert "does not offer STARTTLS" in plain["starttls"].summary
    relay = smtp_server_factory(security="starttls")
    url = f"smtp+starttls://127.0.0.1:{relay.port}"
    tls = by_check(run_checks(doctor_settings(tmp_path, dns_server, url)))
    assert tls["starttls"].verdict == "problem"  # self-signed: receivers' rules, not ours
    assert "does not verify" in tls["starttls"].summary


def test_newsletter_doctor_prints_the_faults_and_fails(
    tmp_path, key, dns_server, smtp_server
) -> None:
    dns_server.serve(zone(key, spf=None))
    settings = doctor_settings(tmp_path, dns_server, smtp_server.url)
    result = subprocess.run(
        [sys.executable, "-m", "newsletter", "doctor", "--no-network"],
        cwd=PROJECT_ROOT, env=settings_env(settings), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "PROBLEM  spf_from: The From domain coalition.example.org publishes no SPF" in (
        result.stdout
    )
    assert "fix: Add a TXT record at coalition.example.org" in result.stdout
    assert "ok       dkim" in result.stdout
