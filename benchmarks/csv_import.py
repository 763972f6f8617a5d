"""CSV import of 100,000 rows: throughput and peak memory of the worker's job.

The staff console promises an import "safe for 100,000 rows": streamed, batched inserts,
bounded memory. This program writes a 100,000-row file (with 1% invalid, 1% duplicate and
0.5% suppressed rows), runs the same ``run_import`` the Celery task runs, and prints:

- rows per second (median over the rounds) and the ratio to a floor we require;
- the peak Python memory of the import (tracemalloc, one extra round) and the ratio to a
  ceiling.

Run: ``.venv/bin/python benchmarks/csv_import.py`` (SQLite in a temporary folder), or add
``--database-url postgresql+psycopg://postgres@127.0.0.1/scratch`` (a fresh database: it is
migrated, then emptied between rounds). ``--rows`` and ``--rounds`` change the size.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text

from newsletter.config import load_settings
from newsletter.db import make_engine, make_session_factory, unit_of_work
from newsletter.imports.csv_import import configure, run_import, save_upload
from newsletter.migrations import upgrade
from newsletter.models import Base, MailingList, MailingListTranslation, SuppressionReason
from newsletter.subscribers.status import suppress_address

FLOOR_ROWS_PER_SECOND = 1_000.0
CEILING_PEAK_MB = 100.0


def make_file(rows: int) -> bytes:
    out = io.StringIO()
    out.write("email,name,language\n")
    for i in range(rows):
        if i % 100 == 1:
            out.write(f"not-an-address-{i},Bad {i},en\n")
        elif i % 100 == 2:
            out.write(f"person{i - 1}@example.org,Duplicate,en\n")
        elif i % 200 == 3:
            out.write(f"blocked{i}@example.org,Blocked,fr\n")
        else:
            out.write(f"person{i}@example.org,Person {i},{'fr' if i % 3 else 'en'}\n")
    return out.getvalue().encode()


def empty(engine) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(text(f'DELETE FROM "{table.name}"'))


def one_round(settings, factory, data: bytes, rows: int, trace: bool) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    with unit_of_work(factory) as db:
        mailing_list = MailingList(slug="press")
        mailing_list.translations.append(MailingListTranslation(language="en", name="Press"))
        db.add(mailing_list)
        db.flush()
        for i in range(3, rows, 200):
            suppress_address(db, f"blocked{i}@example.org", SuppressionReason.HARD_BOUNCE)
        job = save_upload(db, settings, io.BytesIO(data), "bench.csv", None)
        configure(
            db,
            job,
            mapping={"email": 0, "name": 1, "language": 2},
            list_ids=[mailing_list.id],
            consent_basis="benchmark rows",
            default_language="en",
            settings=settings,
        )
        job_id = job.id
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    run_import(factory, settings, job_id)
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if trace else 0
    tracemalloc.stop()
    return rows / elapsed, peak / 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="csv-import-bench-"))
    url = args.database_url or f"sqlite:///{folder / 'bench.sqlite3'}"
    upgrade(url)
    settings = load_settings(
        _env_file=None,
        app_env="test",
        data_dir=folder,
        database_url=url,
        import_max_rows=max(args.rows, 1),
    )
    engine = make_engine(url)
    factory = make_session_factory(engine)
    data = make_file(args.rows)
    speeds = []
    for _ in range(args.rounds):
        empty(engine)
        speeds.append(one_round(settings, factory, data, args.rows, trace=False)[0])
    empty(engine)  # one more round under tracemalloc (slower), for the memory figure only
    _speed, peak = one_round(settings, factory, data, args.rows, trace=True)
    speed = statistics.median(speeds)
    print(f"database: {engine.dialect.name}, rows: {args.rows}, rounds: {args.rounds}")
    print(
        f"import: {speed:,.0f} rows/s median "
        f"(floor {FLOOR_ROWS_PER_SECOND:,.0f}; ratio {speed / FLOOR_ROWS_PER_SECOND:.1f}x)"
    )
    print(
        f"peak Python memory: {peak:.1f} MB "
        f"(ceiling {CEILING_PEAK_MB:.0f} MB; ratio {peak / CEILING_PEAK_MB:.2f})"
    )
    engine.dispose()


if __name__ == "__main__":
    main()
