"""Each anti-abuse rule over real HTTP, with Redis (and without it: the memory fallback)."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Iterator

import altcha
import dns.flags
import dns.message
import dns.rcode
import pytest

from newsletter.abuse import form_guard
from tests.journey.conftest import form_values
from tests.journey.test_subscribe_http import api, count_subscribers, subscribe_on_page

DONE = "Check your inbox"


def sign(n: int) -> dict[str, object]:
    return {"email": f"p{n}@example.org", "lists": ["events"]}


def test_per_ip_rate_limit_is_kept_in_redis(start_service, redis_client):
    service = start_service(rate_limit_ip_per_hour=3)
    statuses = [api(service, sign(n)).status_code for n in range(4)]
    assert statuses == [202, 202, 202, 429]
    limited = api(service, sign(9), **{"accept-language": "fr"})
    assert 0 < int(limited.headers["retry-after"]) <= 3600
    assert "Trop de tentatives" in limited.json()["error"]["message"]
    assert redis_client.keys("nl:rl:ip:*")
    assert count_subscribers(service) == 3


@pytest.mark.parametrize(
    "redis_url", [None, "redis://127.0.0.1:1/0"], ids=["no-redis", "redis-down"]
)
def test_rate_limits_work_without_redis(start_service, redis_url):
    service = start_service(rate_limit_ip_per_hour=2, redis_url=redis_url)
    statuses = [api(service, sign(n)).status_code for n in range(3)]
    assert statuses == [202, 202, 429]


def test_per_address_rate_limit(start_service):
    service = start_service(
        rate_limit_ip_per_hour=0,
        rate_limit_address_per_hour=2,
        confirmations_per_address_per_day=10,
    )
    statuses = [api(service, sign(1)).status_code for _ in range(3)]
    assert statuses == [202, 202, 429]
    assert api(service, sign(2)).status_code == 202


def test_confirmation_emails_per_address_per_day_are_capped(start_service):
    service = start_service(confirmations_per_address_per_day=2)
    answers = {api(service, sign(1)).text for _ in range(4)}
    assert len(answers) == 1  # the cap is invisible from outside
    service.smtp.wait_for(2, timeout=20)
    time.sleep(1.0)  # the refused ones were never queued; give any stray send time to show
    assert len(service.smtp.messages) == 2


def test_honeypot_submission_looks_accepted_but_stores_and_sends_nothing(service):
    response = subscribe_on_page(service, "bot@example.org", website="http://spam.example")
    assert response.status_code == 200 and DONE in response.text
    assert api(service, sign(1) | {"website": "x"}).status_code == 202
    assert count_subscribers(service) == 0
    time.sleep(0.5)
    assert service.smtp.messages == []


def test_form_filled_faster_than_the_minimum_is_dropped(start_service):
    service = start_service(min_fill_seconds=5)
    fast = subscribe_on_page(service, "fast@example.org")
    assert fast.status_code == 200 and DONE in fast.text
    forged = subscribe_on_page(service, "forged@example.org", form_stamp="123.abc")
    missing = subscribe_on_page(service, "nostamp@example.org", form_stamp="")
    assert DONE in forged.text and DONE in missing.text
    assert count_subscribers(service) == 0
    earlier = form_guard.form_stamp(service.settings, now=time.time() - 10)
    human = subscribe_on_page(service, "human@example.org", form_stamp=earlier)
    assert DONE in human.text
    assert count_subscribers(service) == 1


def test_blocked_domains_and_their_subdomains_are_refused(start_service):
    service = start_service(blocked_domains=["spam.example"])
    for address in ("a@spam.example", "b@mx.SPAM.example"):
        response = api(service, {"email": address, "lists": ["events"]})
        assert response.status_code == 422
        assert response.json()["error"]["field"] == "email"
    assert api(service, {"email": "c@notspam.example", "lists": ["events"]}).status_code == 202
    assert count_subscribers(service) == 1


def solved(service) -> str:
    with service.client() as client:
        challenge = client.get("/api/v1/subscriptions/challenge").json()["altcha"]
    solution = altcha.solve_challenge_v1(
        challenge["challenge"], challenge["salt"], challenge["algorithm"], challenge["maxNumber"]
    )
    payload = {k: challenge[k] for k in ("algorithm", "challenge", "salt", "signature")}
    payload["number"] = solution.number
    return base64.b64encode(json.dumps(payload).encode()).decode()


def test_altcha_proof_of_work_covers_the_json_api_and_cannot_be_replayed(start_service):
    service = start_service(altcha_enabled=True, altcha_max_number=2000)
    missing = api(service, sign(1))
    assert missing.status_code == 400
    assert missing.json()["error"]["message"].startswith("Your browser could not complete")
    assert api(service, sign(1) | {"altcha": "bm90IGpzb24="}).status_code == 400
    payload = solved(service)
    assert api(service, sign(1) | {"altcha": payload}).status_code == 202
    assert api(service, sign(2) | {"altcha": payload}).status_code == 400  # replay
    no_js = subscribe_on_page(service, "nojs@example.org")  # no solver ran: asked to wait
    assert no_js.status_code == 200 and 'name="nojs_ticket"' in no_js.text
    assert count_subscribers(service) == 1


class TinyDns:
    """A loopback DNS server: NXDOMAIN for every name (enough to prove MX refusals)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.running = True
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while self.running:
            try:
                data, peer = self.sock.recvfrom(4096)
            except OSError:
                continue
            query = dns.message.from_wire(data)
            response = dns.message.make_response(query)
            response.set_rcode(dns.rcode.NXDOMAIN)
            response.flags |= dns.flags.AA
            self.sock.sendto(response.to_wire(), peer)

    def stop(self) -> None:
        self.running = False
        self.thread.join(timeout=2)
        self.sock.close()


@pytest.fixture
def tiny_dns() -> Iterator[TinyDns]:
    server = TinyDns()
    yield server
    server.stop()


def test_mx_check_refuses_domains_that_do_not_exist(start_service, tiny_dns):
    service = start_service(check_mx=True, dns_nameserver=f"127.0.0.1:{tiny_dns.port}")
    response = api(
        service,
        {"email": "x@no-such-domain.example", "lists": ["events"]},
        **{"accept-language": "fr"},
    )
    assert response.status_code == 422
    assert "ne reçoit pas de courrier" in response.json()["error"]["message"]
    assert count_subscribers(service) == 0


def test_mx_check_accepts_the_address_when_dns_does_not_answer(start_service):
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))  # receives queries, never answers
    try:
        service = start_service(
            check_mx=True, dns_timeout=0.5, dns_nameserver=f"127.0.0.1:{silent.getsockname()[1]}"
        )
        started = time.monotonic()
        response = api(service, {"email": "x@example.org", "lists": ["events"]})
        assert response.status_code == 202
        assert time.monotonic() - started < 5
    finally:
        silent.close()
    assert count_subscribers(service) == 1


def test_hosted_form_values_are_echoed_escaped(service):
    with service.client() as client:
        page = client.get("/subscribe")
        response = client.post(
            "/subscribe",
            data=form_values(page.text)
            | {"email": '"><script>alert(1)</script>', "lists": "events"},
        )
    assert response.status_code == 422
    assert "<script>alert(1)" not in response.text
