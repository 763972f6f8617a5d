"""Real-component fixtures: PostgreSQL migrated by Alembic, Redis, SQLite, a Celery worker.

- ``pg_url``: one throw-away PostgreSQL database per test session, migrated to head.
- ``db_session``: a session inside a transaction rolled back after each test (fast isolation).
- ``committed_db``: a session factory whose commits are real (for other processes to see);
  every table is truncated after the test.
- ``sqlite_url``: a migrated SQLite file, the embedded default (migrated once per session,
  copied per test).
- ``redis_client``: a Redis database flushed before and after each test.
- ``celery_worker``: a real ``celery worker`` process on Redis, against ``committed_db``.
- ``smtp_server`` (tests/fixtures_smtp.py): a real aiosmtpd server on loopback.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from celery import Celery
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from newsletter import clock
from newsletter.config import PROJECT_ROOT, Settings, load_settings
from newsletter.db import make_engine, make_session_factory
from newsletter.migrations import upgrade
from newsletter.models import Base

pytest_plugins = ["tests.fixtures_smtp", "tests.fixtures_browser"]

PG_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REDIS_HOST_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")
# Parallel test runs on one machine (several checkouts) pick distinct Redis databases with
# TEST_REDIS_DB_BASE: the broker uses BASE, the fixture database BASE + 1. Under pytest-xdist
# each worker (gw0, gw1, ...) takes the pair below the previous one's: 14-15, 12-13, 10-11, ...
_XDIST_INDEX = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
_REDIS_DB_BASE = int(os.environ.get("TEST_REDIS_DB_BASE", "14")) - 2 * _XDIST_INDEX
if _REDIS_DB_BASE < 0:
    raise RuntimeError("too many pytest-xdist workers for Redis's 16 databases")
REDIS_BROKER_DB = _REDIS_DB_BASE
REDIS_FIXTURE_DB = _REDIS_DB_BASE + 1


def _database_url(admin_url: str, name: str) -> str:
    return admin_url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    name = f"newsletter_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # pragma: no cover - message for a machine without PostgreSQL
        pytest.exit(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc}", returncode=3)
    url = _database_url(PG_ADMIN_URL, name)
    upgrade(url)
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def pg_engine(pg_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_url)
    yield engine
    engine.dispose()


@pytest.fixture
def db_session(pg_engine: Engine) -> Iterator[Session]:
    """A session whose work is rolled back at the end; its commits become savepoints."""
    connection = pg_engine.connect()
    transaction = connection.begin()
    session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        yield session
    finally:
        session.close()
        transaction.rollback()
        connection.close()


def truncate_all(engine: Engine) -> None:
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def committed_db(pg_engine: Engine) -> Iterator[sessionmaker[Session]]:
    """Real commits, visible to other processes (workers, servers); emptied afterwards."""
    truncate_all(pg_engine)
    yield make_session_factory(pg_engine)
    truncate_all(pg_engine)


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per test session (each test gets a copy of it)."""
    path = tmp_path_factory.mktemp("sqlite-migrated") / "newsletter.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def sqlite_url(tmp_path: Path, migrated_sqlite: Path) -> str:
    """A fresh, migrated SQLite database of the test's own: a copy of the session's one.

    Copied through SQLite's backup API, so the copy is consistent even if the original's
    write-ahead log still held pages; running the migrations once instead of per test is most
    of what a SQLite test used to cost.
    """
    target = tmp_path / "newsletter.sqlite3"
    source = sqlite3.connect(migrated_sqlite)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()
    return f"sqlite:///{target}"


@pytest.fixture
def sqlite_session(sqlite_url: str) -> Iterator[Session]:
    engine = make_engine(sqlite_url)
    session = make_session_factory(engine)()
    try:
        yield session
    finally:
        session.close()
        engine.dispose()


@pytest.fixture(params=["postgresql", "sqlite"])
def any_db_session(request: pytest.FixtureRequest) -> Session:
    """The same test on PostgreSQL (production) and SQLite (the embedded default)."""
    name = "db_session" if request.param == "postgresql" else "sqlite_session"
    return request.getfixturevalue(name)


def _redis(db: int) -> redis.Redis:
    return redis.Redis.from_url(f"{REDIS_HOST_URL}/{db}")


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    client = _redis(REDIS_FIXTURE_DB)
    try:
        client.flushdb()
    except redis.ConnectionError as exc:  # pragma: no cover
        pytest.exit(f"Redis is not reachable at {REDIS_HOST_URL}: {exc}", returncode=3)
    yield client
    client.flushdb()
    client.close()


@pytest.fixture(autouse=True)
def _real_clock_after_each_test() -> Iterator[None]:
    """A test that moved this process's clock (directly or through ``create_app``) leaves it
    real for the next one."""
    yield
    clock.set_offset(0)


def clock_offset_to(moment: dt.datetime) -> float:
    """The ``clock_offset_seconds`` that puts the service's clock at ``moment`` now.

    Passed as a setting, it moves every process the test starts (workers, beat, servers).
    """
    return moment.timestamp() - time.time()


def make_test_settings(tmp_path: Path, **overrides: object) -> Settings:
    """Settings for a test: everything under ``tmp_path``, nothing from the developer's env."""
    values: dict[str, object] = {
        "app_env": "test",
        "data_dir": tmp_path,
        "database_url": f"sqlite:///{tmp_path / 'newsletter.sqlite3'}",
        "broker_url": "filesystem://",
        "secret_key": "test-secret-key-0123456789abcdef0123456789",
        "base_url": "http://127.0.0.1:8000",
        "from_address": "news@coalition.example.org",
        "bounce_domain": "bounces.coalition.example.org",
        # the bounce fixtures' feedback loops (tests/bounces/messages/arf_*.eml)
        "inbound_feedback_loop_domains": ["fbl.example.net", "fbl.example.org"],
    }
    values.update(overrides)
    return load_settings(_env_file=None, **values)


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment a child process needs to see the same settings."""
    env = {k: v for k, v in os.environ.items() if k not in Settings.model_fields}
    for name in Settings.model_fields:
        value = getattr(settings, name)
        if value is None:
            continue
        env[name.upper()] = ",".join(value) if isinstance(value, list) else str(value)
    return env


@dataclass
class WorkerHandle:
    app: Celery
    settings: Settings
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_worker_process(settings: Settings, log_path: Path, *args: str) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "celery", "-A", "workers.celery_app", "worker"]
    argv += ["--loglevel=INFO", "--queues=default,send", "--without-gossip", "--without-mingle"]
    argv += list(args) or ["--pool=solo"]
    with log_path.open("ab") as log_file:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            argv, cwd=PROJECT_ROOT, env=settings_env(settings), stdout=log_file, stderr=log_file
        )


def wait_for_worker(app: Celery, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if app.control.ping(timeout=0.5):
            return
    raise TimeoutError("the Celery worker did not answer a ping in time")


@pytest.fixture
def celery_worker(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session], smtp_server: object
) -> Iterator[WorkerHandle]:
    """A real worker process: Redis broker and results, the test PostgreSQL, the test SMTP."""
    from workers.celery_app import make_celery

    broker = f"{REDIS_HOST_URL}/{REDIS_BROKER_DB}"
    _redis(REDIS_BROKER_DB).flushdb()
    settings = make_test_settings(
        tmp_path,
        database_url=pg_url,
        broker_url=broker,
        result_backend_url=broker,
        redis_url=f"{REDIS_HOST_URL}/{REDIS_FIXTURE_DB}",
        smtp_url=smtp_server.url,  # type: ignore[attr-defined]
    )
    log_path = tmp_path / "worker.log"
    process = start_worker_process(settings, log_path)
    app = make_celery(settings)
    try:
        wait_for_worker(app)
        yield WorkerHandle(app=app, settings=settings, process=process, log_path=log_path)
    finally:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=15)
        if process.poll() is None:
            process.kill()
            process.wait()
        app.close()
        _redis(REDIS_BROKER_DB).flushdb()
