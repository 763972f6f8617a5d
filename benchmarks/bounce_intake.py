"""How fast bounces are read and taken in: parsing, and `newsletter inbound` storing them.

A 50,000-recipient campaign to an old list can return a few thousand DSNs within minutes;
the receiver must take them faster than relays send them (every accepted message is a
database commit before 250), and a worker must parse them faster than they arrive.

Prints medians over several rounds and the ratio to a floor we require:
- parsing + attribution, messages/s, over the real-format fixtures in tests/bounces/messages;
- `newsletter inbound` over loopback SMTP into SQLite (one commit per message), messages/s.

Run: ``.venv/bin/python benchmarks/bounce_intake.py`` (add ``--database-url postgresql+psycopg://
postgres@127.0.0.1/scratch`` to measure PostgreSQL; the database must be migrated).
"""

from __future__ import annotations

import argparse
import smtplib
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from newsletter import links
from newsletter.bounces.analysis import analyse_message, parse_bytes
from newsletter.bounces.attribution import attribute
from newsletter.bounces.receiver import make_controller
from newsletter.config import load_settings
from newsletter.db import make_engine, make_session_factory
from newsletter.migrations import upgrade
from tests.bounces.messages import FOLDER, load

PARSE_FLOOR = 200.0  # messages/s one worker must parse
INTAKE_FLOOR = 50.0  # messages/s the receiver must store


def _settings(data_dir: Path, database_url: str | None) -> object:
    return load_settings(
        _env_file=None, app_env="test", data_dir=data_dir, secret_key="b" * 40,
        bounce_domain="bounces.coalition.example.org",
        database_url=database_url or f"sqlite:///{data_dir / 'bench.sqlite3'}",
    )  # fmt: skip


def parse_rate(settings: object, rounds: int) -> list[float]:
    messages = [load(path.name, settings, delivery_id=7) for path in sorted(FOLDER.glob("*.eml"))]
    rates = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(20):
            for raw in messages:
                msg = parse_bytes(raw)
                analyse_message(msg, raw)
                attribute(settings, msg, raw)
        rates.append(20 * len(messages) / (time.perf_counter() - started))
    return rates


def intake_rate(settings: object, rounds: int, per_round: int) -> list[float]:
    upgrade(settings.database_url)
    factory = make_session_factory(make_engine(settings.database_url))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    controller = make_controller(settings, factory, lambda _id: None, port=port)
    controller.start()
    raw = load("postfix_user_unknown.eml", settings, delivery_id=7)
    verp = links.verp_address(settings, 7)
    rates = []
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            for _ in range(rounds):
                started = time.perf_counter()
                for _ in range(per_round):
                    client.sendmail("", [verp], raw)
                rates.append(per_round / (time.perf_counter() - started))
    finally:
        controller.stop()
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--per-round", type=int, default=200)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        settings = _settings(Path(directory), args.database_url)
        parsed = statistics.median(parse_rate(settings, args.rounds))
        stored = statistics.median(intake_rate(settings, args.rounds, args.per_round))
    print(f"parse + attribute: median {parsed:,.0f} messages/s "
          f"(floor {PARSE_FLOOR:.0f}: x{parsed / PARSE_FLOOR:.1f})")  # fmt: skip
    print(f"inbound SMTP store-before-250: median {stored:,.0f} messages/s "
          f"(floor {INTAKE_FLOOR:.0f}: x{stored / INTAKE_FLOOR:.1f})")  # fmt: skip


if __name__ == "__main__":
    main()
