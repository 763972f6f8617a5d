"""Campaign send throughput against a ceiling, snapshot time and worker memory.

What it does, for each N in ``--n`` and each worker count in ``--workers``:

1. seeds N active subscribers (half English, half French) in a scratch PostgreSQL database,
2. starts postfix's ``smtp-sink`` on loopback (a small C SMTP server: it is not the
   bottleneck, a Python sink would cap both sides and flatter the ratio),
3. starts W real ``celery worker`` processes (Redis broker) with the engine's settings,
4. per repeat: creates a ~20 KB bilingual HTML campaign, times ``start_campaign`` (the
   one-statement snapshot), enqueues the batches and times until the campaign is sent,
5. measures the ceiling in the same run: W processes, each sending one prebuilt message of
   the same size over one persistent smtplib connection to the same sink,
6. prints medians: messages/s, ratio to the ceiling, snapshot time, peak RSS per worker.

``--dkim-cost`` also prints what signing one message costs with an RSA-2048 and an ed25519 key.

Run:  .venv/bin/python benchmarks/send_throughput.py            (10,000 recipients, 1 and 2 workers)
      .venv/bin/python benchmarks/send_throughput.py --n 10000,100000 --repeat 3
Needs PostgreSQL (TEST_POSTGRES_URL, default postgres@127.0.0.1) and Redis on loopback.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import multiprocessing
import os
import shutil
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, select, text

from newsletter.campaigns import service
from newsletter.config import load_settings
from newsletter.db import make_engine, make_session_factory
from newsletter.migrations import upgrade
from newsletter.models import (
    Campaign,
    CampaignKind,
    CampaignStatus,
    CampaignVariant,
    MailingList,
)
from newsletter.rendering.compose import compose_variant
from newsletter.rendering.mime import Recipient, personalise

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # for `workers`, imported where the workers start
    sys.path.insert(0, str(ROOT))

PG_ADMIN = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")
SINK = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"

# Our own filler text: a coalition bulletin of the usual shape, about 9 KB of Markdown per
# language, which the newsletter template turns into ~20 KB of HTML once CSS is inlined.
EN = [
    "## Water access campaign: where we stand",
    "Member organisations met district officials on **Monday** to present the survey of "
    "forty rural boreholes. Twelve of them have been out of service for more than a year.",
    "- The district agreed to publish a repair schedule within **30 days**.",
    "- Our legal team filed an access-to-information request for the maintenance budget.",
    "- Partners in the northern region will hold community hearings in March.",
    "Read the [survey summary](https://example.org/survey?lang=en&ref=bulletin) and share it.",
]
FR = [
    "## Campagne pour l'accès à l'eau : où en sommes-nous",
    "Les organisations membres ont rencontré lundi les responsables du district pour présenter "
    "l'enquête sur quarante forages ruraux. Douze sont hors service depuis plus d'un an.",
    "- Le district s'est engagé à publier un calendrier de réparations sous **30 jours**.",
    "- Notre équipe juridique a déposé une demande d'accès au budget d'entretien.",
    "- Les partenaires de la région nord tiendront des audiences publiques en mars.",
    "Lisez le [résumé de l'enquête](https://example.org/survey?lang=fr&ref=bulletin).",
]


def body(paragraphs: list[str], repeat: int = 14) -> str:
    return "\n\n".join(p for _ in range(repeat) for p in paragraphs)


def settings_for(database_url: str, broker: str, sink_port: int, data_dir: Path, **extra: object):
    values = {
        "app_env": "test",
        "data_dir": data_dir,
        "database_url": database_url,
        "broker_url": broker,
        "redis_url": None,
        "smtp_url": f"smtp://127.0.0.1:{sink_port}?timeout=30",
        "secret_key": "benchmark-secret-key-0123456789abcdef012345",
        "from_address": "news@coalition.example.org",
        "bounce_domain": "bounces.coalition.example.org",
    }
    values.update(extra)
    return load_settings(_env_file=None, **values)


def env_for(settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.upper() not in type(settings).model_fields}
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if value is not None:
            env[name.upper()] = ",".join(value) if isinstance(value, list) else str(value)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def seed(factory, n: int) -> int:
    """N active subscribers on one list, in one INSERT ... SELECT each (fast)."""
    with factory() as session, session.begin():
        mailing_list = MailingList(slug="bulletin")
        session.add(mailing_list)
        session.flush()
        session.execute(
            text(
                "INSERT INTO subscribers (public_id, email, email_hash, name, language, status,"
                " status_reason, status_changed_at, created_at, updated_at, bounce_score)"
                " SELECT md5(random()::text || g), 'reader' || g || '@example.org',"
                " encode(sha256(('reader' || g || '@example.org')::bytea), 'hex'),"
                " 'Reader ' || g, CASE WHEN g % 2 = 0 THEN 'en' ELSE 'fr' END, 'active', '',"
                " now(), now(), now(), 0 FROM generate_series(1, :n) AS g"
            ),
            {"n": n},
        )
        session.execute(
            text(
                "INSERT INTO subscriptions (subscriber_id, list_id, status, created_at, updated_at)"
                " SELECT id, :list, 'active', now(), now() FROM subscribers"
            ),
            {"list": mailing_list.id},
        )
        return mailing_list.id


def new_campaign(factory, list_id: int) -> int:
    with factory() as session, session.begin():
        campaign = Campaign(kind=CampaignKind.NEWSLETTER, name="bench", template_name="newsletter")
        campaign.lists = [session.get(MailingList, list_id)]
        subjects = {"en": "Coalition bulletin: water access", "fr": "Bulletin de la coalition"}
        campaign.variants = [
            CampaignVariant(language=lang, subject=subjects[lang], body_markdown=body(text))
            for lang, text in (("en", EN), ("fr", FR))
        ]
        session.add(campaign)
        session.flush()
        return campaign.id


def sample_message(settings, factory, campaign_id: int) -> bytes:
    with factory() as session:
        campaign = service.load_campaign(session, campaign_id)
        variant = compose_variant(settings, campaign, "en")
    return personalise(settings, variant, Recipient(1, "reader1@example.org", "Reader 1", "p")).data


def _ceiling_process(port: int, count: int, message: bytes, barrier, results) -> None:
    smtp = smtplib.SMTP("127.0.0.1", port)
    barrier.wait(timeout=120)
    started = time.perf_counter()
    for index in range(count):
        smtp.sendmail("bounces@bounces.coalition.example.org", [f"r{index}@example.org"], message)
    results.put(time.perf_counter() - started)
    smtp.quit()


def ceiling(port: int, n: int, processes: int, message: bytes) -> float:
    """Raw smtplib, one prebuilt message, one persistent connection per process: messages/s."""
    context = multiprocessing.get_context("spawn")  # no inherited DB/broker connections
    barrier, results = context.Barrier(processes + 1), context.Queue()
    args = (port, n // processes, message, barrier, results)
    workers = [context.Process(target=_ceiling_process, args=args) for _ in range(processes)]
    for worker in workers:
        worker.start()
    barrier.wait(timeout=120)
    slowest = max(results.get(timeout=600) for _ in workers)
    for worker in workers:
        worker.join()
    return (n // processes) * processes / slowest


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_workers(settings, count: int, log_dir: Path) -> list[subprocess.Popen]:
    from workers.celery_app import make_celery

    processes = []
    for index in range(count):
        argv = [sys.executable, "-m", "celery", "-A", "workers.celery_app", "worker", "--pool=solo",
                "--queues=default,send", "--without-gossip", "--without-mingle",
                "--loglevel=WARNING", f"-nbench{index}@%h"]  # fmt: skip
        log = (log_dir / f"worker{index}.log").open("ab")
        processes.append(
            subprocess.Popen(argv, cwd=ROOT, env=env_for(settings), stdout=log, stderr=log)
        )
    app = make_celery(settings)
    deadline = time.monotonic() + 60
    while len(app.control.ping(timeout=0.5)) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"workers did not start; see {log_dir}")
    return processes


def run_campaign(settings, factory, app, list_id: int) -> tuple[float, float, int]:
    """(snapshot seconds, send seconds, recipients) for one fresh campaign."""
    campaign_id = new_campaign(factory, list_id)
    with factory() as session, session.begin():
        started = time.perf_counter()
        batches = service.start_campaign(session, campaign_id, settings=settings)
    snapshot = time.perf_counter() - started
    started = time.perf_counter()
    for first, last in batches.ranges:
        app.send_task("newsletter.send_batch", args=[campaign_id, first, last])
    while True:
        with factory() as session:
            campaign = session.get(Campaign, campaign_id)
            if campaign.status is not CampaignStatus.SENDING:
                break
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    if campaign.status is not CampaignStatus.SENT or campaign.sent_count != campaign.total_count:
        raise RuntimeError(f"campaign ended {campaign.status} with {campaign.sent_count} sent")
    return snapshot, elapsed, campaign.total_count


def dkim_cost(message: bytes, runs: int = 200) -> None:
    """Per-message signing cost: this service's signer, and dkimpy's (a dev dependency)."""
    import dkim
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    from newsletter.delivery.dkim_signing import dkim_signer, load_key

    folder = Path(tempfile.mkdtemp())
    keys = {"rsa-2048": rsa.generate_private_key(public_exponent=65537, key_size=2048),
            "ed25519": ed25519.Ed25519PrivateKey.generate()}  # fmt: skip
    for name, key in keys.items():
        path = folder / f"{name}.pem"
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path.write_bytes(pem)
        ours = dkim_signer("coalition.example.org", "bench", path)
        algorithm, _ = load_key(path)
        if name == "ed25519":
            raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                    serialization.NoEncryption())  # fmt: skip
            dkimpy_key = base64.b64encode(raw)
        else:
            dkimpy_key = key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption())  # fmt: skip

        def theirs(data: bytes, key=dkimpy_key, algorithm=algorithm) -> bytes:
            return dkim.sign(data, b"bench", b"coalition.example.org", key,
                             signature_algorithm=algorithm, linesep=b"\r\n")  # fmt: skip

        for label, sign in (("ours", ours), ("dkimpy", theirs)):
            timings = []
            for _ in range(5):
                started = time.perf_counter()
                for _ in range(runs // 5):
                    sign(message)
                timings.append((time.perf_counter() - started) / (runs // 5))
            per = statistics.median(timings)
            print(
                f"DKIM {name:9s} {label:6s}: {per * 1000:.3f} ms per message, "
                f"caps one process at {1 / per:,.0f} messages/s"
            )
    shutil.rmtree(folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", default="10000", help="recipients, or a comma list (10000,100000)")
    parser.add_argument("--workers", default="1,2", help="worker process counts, e.g. 1,2")
    parser.add_argument("--repeat", type=int, default=3, help="runs per configuration (median)")
    parser.add_argument("--redis-db", type=int, default=12, help="Redis database for the broker")
    parser.add_argument("--dkim-cost", action="store_true", help="also time DKIM signing")
    parser.add_argument(
        "--snapshot-only", action="store_true", help="only time start_campaign (no sending)"
    )
    args = parser.parse_args()
    sizes = [int(part) for part in args.n.split(",")]
    worker_counts = [int(part) for part in args.workers.split(",")]
    work_dir = Path(tempfile.mkdtemp(prefix="send-bench-"))
    sink_port = free_port()
    user = ["-u", "nobody"] if os.geteuid() == 0 else []
    sink = subprocess.Popen(
        [SINK, *user, f"127.0.0.1:{sink_port}", "256"], stdout=subprocess.DEVNULL
    )
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    rows = []
    try:
        time.sleep(0.3)
        for n in sizes:
            name = f"bench_send_{uuid.uuid4().hex[:8]}"
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
            try:
                upgrade(url)
                engine = make_engine(url)
                factory = make_session_factory(engine)
                list_id = seed(factory, n)
                with engine.begin() as connection:
                    connection.execute(text("ANALYZE"))
                if args.snapshot_only:
                    snapshot_times(factory, list_id, n, args.repeat)
                    worker_counts_here: list[int] = []
                else:
                    worker_counts_here = worker_counts
                for workers in worker_counts_here:
                    rows.append(
                        measure(args, n, workers, url, sink_port, work_dir, factory, list_id)
                    )
                engine.dispose()
            finally:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if rows:
            report(rows)
        if args.dkim_cost and rows:
            dkim_cost(rows[-1]["message"])
    finally:
        sink.terminate()
        sink.wait()
        shutil.rmtree(work_dir, ignore_errors=True)


def snapshot_times(factory, list_id: int, n: int, repeat: int) -> None:
    """Median time of the one-statement snapshot (start_campaign, committed), no sending."""
    settings = load_settings(_env_file=None)
    times = []
    for _ in range(repeat):
        campaign_id = new_campaign(factory, list_id)
        started = time.perf_counter()
        with factory() as session, session.begin():
            service.start_campaign(session, campaign_id, settings=settings)
        times.append(time.perf_counter() - started)
    print(f"N={n}: snapshot median {statistics.median(times):.2f} s "
          f"(runs: {', '.join(f'{t:.2f}' for t in times)})")  # fmt: skip


def measure(args, n, workers, url, sink_port, work_dir, factory, list_id) -> dict:
    from workers.celery_app import make_celery

    broker = f"{REDIS}/{args.redis_db}"
    import redis

    redis.Redis.from_url(broker).flushdb()
    settings = settings_for(url, broker, sink_port, work_dir)
    processes = start_workers(settings, workers, work_dir)
    app = make_celery(settings)
    with app.connection_for_write() as connection:  # bind the queues before publishing
        for queue in app.conf.task_queues:
            queue(connection.default_channel).declare()
    snapshots, rates, ceilings = [], [], []
    message = b""
    try:
        for _ in range(args.repeat):
            snapshot, elapsed, total = run_campaign(settings, factory, app, list_id)
            log(f"N={n} workers={workers}: {total / elapsed:,.0f} msg/s, snapshot {snapshot:.2f} s")
            snapshots.append(snapshot)
            rates.append(total / elapsed)
            with factory() as session:
                campaign_id = session.scalar(select(Campaign.id).order_by(Campaign.id.desc()))
            message = sample_message(settings, factory, campaign_id)
            ceilings.append(ceiling(sink_port, n, workers, message))
            log(f"N={n} workers={workers}: ceiling {ceilings[-1]:,.0f} msg/s")
        rss = [peak_rss_mb(process.pid) for process in processes]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=20)
        app.close()
    rate, ceil = statistics.median(rates), statistics.median(ceilings)
    return {"n": n, "workers": workers, "rate": rate, "ceiling": ceil, "ratio": rate / ceil,
            "snapshot": statistics.median(snapshots), "rss": rss, "message": message}  # fmt: skip


def report(rows: list[dict]) -> None:
    print(f"\nmessage size: {len(rows[-1]['message']):,} bytes; medians of the repeats\n")
    print(f"{'N':>8} {'workers':>7} {'engine msg/s':>13} {'ceiling msg/s':>14} {'ratio':>6} "
          f"{'snapshot s':>10}  peak RSS per worker (MB)")  # fmt: skip
    for row in rows:
        rss = ", ".join(f"{value:.0f}" for value in row["rss"])
        print(f"{row['n']:>8,} {row['workers']:>7} {row['rate']:>13,.0f} {row['ceiling']:>14,.0f} "
              f"{row['ratio']:>6.0%} {row['snapshot']:>10.2f}  {rss}")  # fmt: skip


if __name__ == "__main__":
    main()
