"""How right bounce intake is: a folder of bounce messages and their manifest, through the
receiver and the mailbox path, scored against what each message must lead to.

The manifest (JSON, file -> ``system``, ``reason``, ``class``, ``action``, ``suppressed``,
``recipient``; see tests/bounces/corpus/manifest.json) says what each message is. For every
message a subscriber (the manifest's recipient) and a sent delivery are created, then:

- **VERP path**: the message is sent over loopback SMTP to the real `newsletter inbound`
  receiver at the delivery's VERP address (feedback-loop reports at the complaint address),
  stored before 250, and processed as a worker does;
- **mailbox path**: the same message is stored as the IMAP poller stores it (no envelope, so
  attribution rests on the message alone) and processed.

A message is correct when the stored message's outcome (processed / ignored / quarantined),
the reason recorded and the suppression all match the manifest. Printed per path: correct /
total, accuracy per mail system and per reason, false suppressions (suppressed but must stay),
missed hard bounces (must be suppressed, was not) and time per message.

Run: ``.venv/bin/python benchmarks/bounce_accuracy.py`` (defaults to the corpus in
tests/bounces/corpus; ``--folder DIR`` for another; ``--database-url`` for PostgreSQL, an
empty database).
"""

from __future__ import annotations

import argparse
import smtplib
import socket
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select

from newsletter.bounces.inbox import store_inbound
from newsletter.bounces.models import BounceEvent, InboundMessage
from newsletter.bounces.processing import process_stored
from newsletter.bounces.receiver import make_controller
from newsletter.config import load_settings
from newsletter.db import make_engine, make_session_factory, unit_of_work
from newsletter.migrations import upgrade
from newsletter.subscribers.status import is_suppressed
from tests.bounces.corpus_fixtures import CORPUS, Case, cases, envelope_to, render
from tests.bounces.factories import make_campaign, make_delivery, make_subscriber


@dataclass
class Score:
    correct: int = 0
    total: int = 0

    def add(self, ok: bool) -> None:
        self.correct += int(ok)
        self.total += 1

    def __str__(self) -> str:
        return f"{self.correct}/{self.total} ({100.0 * self.correct / max(self.total, 1):.1f}%)"


def _settings(data_dir: Path, database_url: str | None, suffix: str) -> object:
    return load_settings(
        _env_file=None, app_env="test", data_dir=data_dir, secret_key="b" * 40,
        bounce_domain="bounces.coalition.example.org",
        database_url=database_url or f"sqlite:///{data_dir / f'accuracy-{suffix}.sqlite3'}",
    )  # fmt: skip


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _prepare(factory, corpus: list[Case]) -> dict[str, tuple[int, int, str]]:
    rows = {}
    with unit_of_work(factory) as session:
        campaign = make_campaign(session, name=f"accuracy {uuid.uuid4().hex[:8]}")
        for case in corpus:
            subscriber = make_subscriber(session, case.recipient)
            delivery = make_delivery(session, campaign, subscriber)
            rows[case.name] = (subscriber.id, delivery.id, delivery.message_id or "")
    return rows


def _via_smtp(settings, factory, corpus, rows, folder) -> tuple[dict[str, int], float]:
    queued: list[int] = []
    controller = make_controller(settings, factory, queued.append, port=_free_port())
    controller.start()
    ids = {}
    started = time.perf_counter()
    try:
        with smtplib.SMTP("127.0.0.1", controller.port, timeout=30) as client:
            for case in corpus:
                _, delivery_id, message_id = rows[case.name]
                raw = render(case, settings, delivery_id, message_id, folder)
                client.sendmail("", [envelope_to(case, settings, raw, delivery_id)], raw)
                ids[case.name] = queued[-1]
                with unit_of_work(factory) as session:
                    process_stored(session, settings, queued[-1])
    finally:
        controller.stop()
    return ids, time.perf_counter() - started


def _via_mailbox(settings, factory, corpus, rows, folder) -> tuple[dict[str, int], float]:
    ids = {}
    started = time.perf_counter()
    for case in corpus:
        _, delivery_id, message_id = rows[case.name]
        raw = render(case, settings, delivery_id, message_id, folder)
        with unit_of_work(factory) as session:
            inbound = store_inbound(
                session, source="imap", source_ref=f"INBOX/1/{case.name}", raw=raw
            )
            session.flush()
            ids[case.name] = inbound.id
        with unit_of_work(factory) as session:
            process_stored(session, settings, ids[case.name])
    return ids, time.perf_counter() - started


def _score(path: str, factory, corpus, rows, ids, seconds) -> int:
    overall, systems, reasons = Score(), defaultdict(Score), defaultdict(Score)
    false_suppressions, missed_hard, wrong = 0, 0, []
    with factory() as session:
        for case in corpus:
            subscriber_id = rows[case.name][0]
            inbound = session.get(InboundMessage, ids[case.name])
            recorded = [
                str(e.reason)
                for e in session.scalars(
                    select(BounceEvent).where(BounceEvent.subscriber_id == subscriber_id)
                )
            ]
            suppressed = is_suppressed(session, case.recipient)
            # processed: its reason recorded; a quarantined soft one (unreadable, at its VERP
            # address) is counted as undetermined too; anything else records nothing
            counted = case.action == "processed" or case.cls == "soft"
            expected_reasons = [case.reason] if counted else []
            ok = (str(inbound.status), suppressed, recorded) == (
                case.action,
                case.suppressed,
                expected_reasons,
            )
            overall.add(ok)
            systems[case.system].add(ok)
            reasons[case.reason].add(ok)
            false_suppressions += int(suppressed and not case.suppressed)
            missed_hard += int(case.suppressed and not suppressed)
            if not ok:
                wrong.append(f"{case.name}: {inbound.status} {recorded} ({inbound.status_reason})")
    per_message = 1000 * seconds / len(corpus)
    print(f"== {path} path: {overall} correct; false suppressions {false_suppressions}; "
          f"missed hard bounces {missed_hard}; {per_message:.1f} ms/message")  # fmt: skip
    print("  per reason: " + ", ".join(f"{r} {s}" for r, s in sorted(reasons.items())))
    print("  per system: " + ", ".join(f"{n} {s}" for n, s in sorted(systems.items())))
    for line in wrong:
        print("  wrong: " + line)
    return false_suppressions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=CORPUS)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    corpus = cases(args.folder)
    print(f"{len(corpus)} messages from {len({c.system for c in corpus})} mail systems")
    false_total = 0
    with tempfile.TemporaryDirectory() as directory:
        for path, feed in (("VERP (SMTP receiver)", _via_smtp), ("mailbox", _via_mailbox)):
            settings = _settings(Path(directory), args.database_url, path[:4])
            upgrade(settings.database_url)
            factory = make_session_factory(make_engine(settings.database_url))
            rows = _prepare(factory, corpus)
            ids, seconds = feed(settings, factory, corpus, rows, args.folder)
            false_total += _score(path, factory, corpus, rows, ids, seconds)
    sys.exit(1 if false_total else 0)


if __name__ == "__main__":
    main()
