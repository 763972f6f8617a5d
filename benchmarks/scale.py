"""Console and API reads, and the campaign snapshot, at 10k / 100k / 1M subscribers.

For each size in ``--sizes``: a scratch PostgreSQL database ``bench_scale_<N>`` migrated by
Alembic and seeded in SQL (benchmarks/scale_seed.py: N subscribers on four lists, 3N delivery
rows of three past campaigns), the background summary refreshed once (its time is printed),
then every page and API read a staff member uses daily is requested through the application's
full HTTP stack (FastAPI over ASGI, signed-in staff cookie or API token; in process, no socket),
``--rounds`` rounds of ``--requests`` requests each: the table shows the median over rounds of
each round's p95 and median. The snapshot (``start_campaign`` of a draft to every supporter,
rolled back after each run) is timed ``--rounds`` times. ``--explain`` prints EXPLAIN ANALYZE of
each read's queries. The last table is the growth from the smallest to the largest size.

Run:  .venv/bin/python benchmarks/scale.py --sizes 10000,100000
      .venv/bin/python benchmarks/scale.py --sizes 10000,100000,1000000 --reuse --explain
Needs PostgreSQL (TEST_POSTGRES_URL, default postgres@127.0.0.1). ``--reuse`` keeps an already
seeded database of that size (migrated to head first).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import create_engine, func, select, text  # noqa: E402

import newsletter.models  # noqa: E402,F401 - every table known to the ORM
from benchmarks.scale_seed import seed  # noqa: E402
from newsletter.campaigns import service  # noqa: E402
from newsletter.config import load_settings  # noqa: E402
from newsletter.db import make_engine, make_session_factory, unit_of_work  # noqa: E402
from newsletter.migrations import upgrade  # noqa: E402
from newsletter.staff import audit, summaries  # noqa: E402
from newsletter.staff.api_tokens import create_token  # noqa: E402
from newsletter.staff.models import StaffRole, StaffUser  # noqa: E402
from newsletter.staff.service import create_staff_user  # noqa: E402
from newsletter.staff.subscriber_search import COUNT_CAP, SubscriberFilter, filtered  # noqa: E402
from newsletter.staff.summary_model import ReportSummary  # noqa: E402
from newsletter.subscribers.models import Subscriber, SubscriberStatus  # noqa: E402
from newsletter.web.app import create_app  # noqa: E402

PG_ADMIN = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
PASSWORD = "benchmark staff passphrase 42"  # noqa: S105 - a scratch database only
NOW = dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC)


def database_url(name: str) -> str:
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name


def prepare(n: int, reuse: bool) -> tuple[str, dict[str, int], float]:
    name = f"bench_scale_{n}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as db:
        exists = db.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if exists and not reuse:
            db.execute(text(f'DROP DATABASE "{name}"'))
        if not exists or not reuse:
            db.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = database_url(name)
    upgrade(url, "head")
    engine = make_engine(url)
    seeded = 0.0
    with engine.connect() as db:
        empty = not db.scalar(text("SELECT count(*) FROM mailing_lists"))
    if empty:
        started = time.perf_counter()
        seed(engine, n, NOW)
        seeded = time.perf_counter() - started
    with engine.connect() as db:
        ids = dict(db.execute(text("SELECT slug, id FROM mailing_lists")).all())
        ids["draft"] = db.scalar(text("SELECT max(id) FROM campaigns WHERE status = 'draft'"))
        ids["past"] = db.scalar(text("SELECT max(id) FROM campaigns WHERE status = 'sent'"))
    engine.dispose()
    return url, ids, seeded


def settings_for(url: str, data_dir: Path):  # type: ignore[no-untyped-def]
    return load_settings(
        _env_file=None,
        app_env="test",
        data_dir=data_dir,
        database_url=url,
        broker_url="filesystem://",
        secret_key="benchmark-secret-key-0123456789abcdef012345",  # noqa: S106 - scratch
        base_url="http://127.0.0.1:8000",
        from_address="news@coalition.example.org",
        bounce_domain="bounces.coalition.example.org",
    )


def staff_and_token(factory) -> str:  # type: ignore[no-untyped-def]
    email = "bench-editor@coalition.example.org"
    with unit_of_work(factory) as db:
        user = db.scalar(select(StaffUser).where(StaffUser.email == email))
        if user is None:
            user = create_staff_user(
                db, email=email, name="Bench", password=PASSWORD, role=StaffRole.ADMIN
            )
        _token, clear = create_token(
            db,
            user,
            audit.Actor(kind="staff", id=user.id),
            name="benchmark",
            scopes=["subscribers:read", "lists:read"],
        )
        return clear


def sign_in(client: TestClient) -> None:
    import re

    page = client.get("/admin/login")
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
    assert token, "no CSRF token on the login page"
    answer = client.post(
        "/admin/login",
        data={
            "csrf_token": token.group(1),
            "email": "bench-editor@coalition.example.org",
            "password": PASSWORD,
        },
    )
    assert answer.status_code in (302, 303), answer.status_code


def reads(ids: dict[str, int], probe: str) -> list[tuple[str, str, bool]]:
    """(label, path, is_api): what a staff member opens daily."""
    supporters = ids["supporters"]
    return [
        ("console dashboard", "/admin/", False),
        ("subscribers: part of an address", f"/admin/subscribers?q={probe}", False),
        ("subscribers: a common name", "/admin/subscribers?q=Martin", False),
        (
            "subscribers: status + list + language",
            f"/admin/subscribers?status=active&list_id={supporters}&language=fr",
            False,
        ),
        ("subscribers: first page", "/admin/subscribers", False),
        ("API GET /api/v1/subscribers?q=", f"/api/v1/subscribers?q={probe}", True),
        ("lists page", "/admin/lists", False),
        ("API GET /api/v1/lists", "/api/v1/lists", True),
        ("campaign page (1 of 3 past)", f"/admin/campaigns/{ids['past']}", False),
    ]


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def time_reads(client: TestClient, token: str, ids: dict[str, int], n: int, args) -> dict:  # type: ignore[no-untyped-def]
    results: dict[str, tuple[float, float]] = {}
    probe = f"porter{n // 2 + 7}"  # part of one address
    for label, path, is_api in reads(ids, probe):
        headers = {"Authorization": f"Bearer {token}"} if is_api else {}
        answer = client.get(path, headers=headers)  # warm
        assert answer.status_code == 200, (label, answer.status_code, answer.text[:300])
        p95s, medians = [], []
        for _ in range(args.rounds):
            times = []
            for _ in range(args.requests):
                started = time.perf_counter()
                client.get(path, headers=headers)
                times.append(time.perf_counter() - started)
            p95s.append(p95(times))
            medians.append(statistics.median(times))
        results[label] = (statistics.median(p95s), statistics.median(medians))
    return results


def time_snapshot(factory, settings, draft: int, rounds: int) -> list[float]:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(rounds):
        with factory() as db:
            started = time.perf_counter()
            batches = service.start_campaign(db, draft, settings=settings)
            db.flush()
            times.append(time.perf_counter() - started)
            assert batches.ranges, "the snapshot found nobody"
            db.rollback()
    return times


def explain(engine, ids: dict[str, int], n: int) -> str:  # type: ignore[no-untyped-def]
    probe = f"porter{n // 2 + 7}"
    queries = []
    for label, criteria in (
        ("part of an address", SubscriberFilter(query=probe)),
        ("a common name", SubscriberFilter(query="Martin")),
        (
            "status + list + language",
            SubscriberFilter(
                status=SubscriberStatus.ACTIVE, list_id=ids["supporters"], language="fr"
            ),
        ),
    ):
        statement = filtered(criteria)
        capped = statement.with_only_columns(Subscriber.id).limit(COUNT_CAP + 1).subquery()
        queries.append((f"count, {label}", select(func.count()).select_from(capped)))
        queries.append((f"page, {label}", statement.order_by(Subscriber.id.desc()).limit(50)))
    queries.append(
        ("summary read", select(ReportSummary).where(ReportSummary.name == summaries.DASHBOARD))
    )
    out = []
    with engine.connect() as db:
        for label, query in queries:
            sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
            plan = db.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + sql)).scalars().all()
            out.append(f"-- {label} ({n:,} subscribers)\n" + "\n".join(plan))
    return "\n\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    table: dict[int, dict[str, tuple[float, float]]] = {}
    for n in sizes:
        url, ids, seeded = prepare(n, args.reuse)
        if seeded:
            print(f"seeded {n:,} subscribers and {3 * n:,} deliveries in {seeded:.1f} s")
        data_dir = Path(tempfile.mkdtemp(prefix="bench-scale-"))
        settings = settings_for(url, data_dir)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        token = staff_and_token(factory)
        with unit_of_work(factory) as db:
            refreshed = summaries.refresh(db, settings)
        print(f"{n:,}: background summary refresh took {refreshed.seconds:.2f} s")
        app = create_app(settings)
        with TestClient(app, follow_redirects=False) as client:
            sign_in(client)
            results = time_reads(client, token, ids, n, args)
        app.state.engine.dispose()
        snapshot = time_snapshot(factory, settings, ids["draft"], args.rounds)
        results["campaign snapshot (start)"] = (max(snapshot), statistics.median(snapshot))
        table[n] = results
        if args.explain:
            print(explain(engine, ids, n))
        engine.dispose()
    labels = list(next(iter(table.values())))
    print()
    print("| what (p95 / median, seconds) | " + " | ".join(f"{n:,}" for n in sizes) + " |")
    print("|---|" + "---|" * len(sizes))
    for label in labels:
        cells = [f"{table[n][label][0]:.3f} / {table[n][label][1]:.3f}" for n in sizes]
        print(f"| {label} | " + " | ".join(cells) + " |")
    if len(sizes) > 1:
        first, last = sizes[0], sizes[-1]
        print(f"\ngrowth of the p95 from {first:,} to {last:,} ({last // first}x the rows):")
        for label in labels:
            a, b = table[first][label][0], table[last][label][0]
            print(f"  {label}: x{b / a:.1f}" if a else f"  {label}: n/a")
    print("\n(snapshot row: max / median of the rounds; each run rolled back)")


if __name__ == "__main__":
    main()
