"""Latency and throughput of ``POST /api/v1/subscriptions`` against a running server.

Starts the real stack on loopback: a scratch PostgreSQL database migrated to head, Redis for
the rate limiters, ``newsletter web`` (uvicorn) in its own process, and a discarding SMTP
server (aiosmtpd) so every confirmation email really goes out after the response. Then it
drives the endpoint with unique addresses from ``--concurrency`` client connections, for
``--runs`` runs of ``--requests`` each, and prints per run and as medians: requests/s,
p50 and p99 latency. The ceiling is the same server answering ``GET /healthz`` (a database
and broker round trip, no sign-up work) with the same client: the ratio says how much of
the web stack's capacity a sign-up uses.

    .venv/bin/python benchmarks/subscribe_latency.py --requests 300 --runs 5 --concurrency 8

Needs PostgreSQL and Redis on loopback (as ``scripts/test``); override with
``--postgres`` / ``--redis``. Rate limits are switched off for the run (one client IP).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from newsletter.migrations import upgrade  # noqa: E402


class Discard:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("the web server did not come up")


async def drive(
    url: str, requests: int, concurrency: int, make_request
) -> tuple[float, list[float]]:
    """Send ``requests`` requests over ``concurrency`` connections; (elapsed, latencies)."""
    latencies: list[float] = []
    counter = iter(range(requests))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:

        async def worker() -> None:
            for n in counter:
                started = time.perf_counter()
                response = await make_request(client, n)
                latencies.append(time.perf_counter() - started)
                if response.status_code not in (200, 202):
                    raise SystemExit(f"unexpected {response.status_code}: {response.text[:200]}")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started, latencies


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def measure(
    url: str, args: argparse.Namespace, make_request, label: str
) -> tuple[float, float, float]:
    rates, p50s, p99s = [], [], []
    for run in range(args.runs):
        elapsed, latencies = asyncio.run(drive(url, args.requests, args.concurrency, make_request))
        rate = len(latencies) / elapsed
        p50, p99 = percentile(latencies, 0.50) * 1000, percentile(latencies, 0.99) * 1000
        rates.append(rate)
        p50s.append(p50)
        p99s.append(p99)
        print(f"  {label} run {run + 1}: {rate:7.1f} req/s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms")
    return statistics.median(rates), statistics.median(p50s), statistics.median(p99s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    args = parser.parse_args()

    name = f"bench_subscribe_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    database_url = args.postgres.rsplit("/", 1)[0] + "/" + name
    smtp = Controller(Discard(), hostname="127.0.0.1", port=free_port())
    smtp.start()
    server = None
    try:
        upgrade(database_url)
        engine = create_engine(database_url)
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO mailing_lists (slug, is_public, created_at) "
                    "VALUES ('press-releases', true, now())"
                )
            )
        engine.dispose()
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = os.environ | {
            "APP_ENV": "test",
            "DATA_DIR": str(ROOT / "var" / "bench"),
            "DATABASE_URL": database_url,
            "REDIS_URL": args.redis,
            "BROKER_URL": args.redis,
            "SMTP_URL": f"smtp://127.0.0.1:{smtp.port}",
            "SECRET_KEY": "benchmark-secret-key-0123456789abcdef0123",
            "BASE_URL": url,
            "RATE_LIMIT_IP_PER_HOUR": "0",
            "RATE_LIMIT_ADDRESS_PER_HOUR": "0",
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "newsletter", "web", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until_up(url)
        run_id = uuid.uuid4().hex[:6]

        async def subscribe(client: httpx.AsyncClient, n: int) -> httpx.Response:
            body = {
                "email": f"bench-{run_id}-{time.perf_counter_ns()}-{n}@example.org",
                "lists": ["press-releases"],
                "language": "fr" if n % 2 else "en",
            }
            return await client.post("/api/v1/subscriptions", json=body)

        async def health(client: httpx.AsyncClient, _n: int) -> httpx.Response:
            return await client.get("/healthz")

        print(
            f"POST /api/v1/subscriptions: {args.runs} runs x {args.requests} requests, "
            f"concurrency {args.concurrency} (uvicorn, PostgreSQL, Redis, SMTP)"
        )
        rate, p50, p99 = measure(url, args, subscribe, "subscribe")
        ceiling, c50, c99 = measure(url, args, health, "healthz  ")
        print(f"median subscribe: {rate:.1f} req/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms")
        print(
            f"median ceiling (GET /healthz): {ceiling:.1f} req/s, p50 {c50:.1f} ms, "
            f"p99 {c99:.1f} ms"
        )
        print(f"subscribe / ceiling throughput ratio: {rate / ceiling:.2f}")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=15)
        smtp.stop()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
