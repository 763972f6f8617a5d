"""Seed a scratch PostgreSQL database for ``benchmarks/scale.py``: N supporters with history.

Everything is made inside PostgreSQL with ``generate_series`` (INSERT ... SELECT), so 1M
subscribers and 3M deliveries take a minute or two rather than hours of ORM inserts:

- N subscribers: addresses ``supporter<g>@<one of six domains>``, names from a small set of
  first and last names (so a common name matches many rows), English/French, a few zones;
  about 4 % unsubscribed and 1 % bounced;
- four lists: everyone on ``supporters``; a tenth on ``press-releases``, a fifth on ``events``,
  half on ``monthly-digest``;
- three past campaigns to ``supporters`` sent 120, 45 and 5 days ago, one delivery per
  subscriber each (3N delivery rows), mostly sent, some failed or bounced;
- a draft campaign to ``supporters`` whose snapshot the benchmark times.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, text

FIRST = ["Amina", "Lucas", "Sofia", "Jean", "Maria", "Omar", "Chloe", "Ines", "Paul", "Nadia",
         "Hugo", "Lea", "Karim", "Emma", "Yann", "Zoe", "Ali", "Julie", "Marc", "Sara"]  # fmt: skip
LAST = ["Martin", "Bernard", "Dubois", "Diallo", "Garcia", "Moreau", "Nguyen", "Laurent",
        "Petit", "Roux", "Fontaine", "Mercier", "Traore", "Lambert", "Bonnet", "Girard",
        "Andre", "Leroy", "Morel", "Simon", "Kone", "Faure", "Rousseau", "Blanc",
        "Guerin"]  # fmt: skip
DOMAINS = ["example.org", "example.net", "example.com", "mail.example.org", "post.example.net",
           "inbox.example.com"]  # fmt: skip
LISTS = (("supporters", 1), ("press-releases", 10), ("events", 5), ("monthly-digest", 2))
PAST_CAMPAIGN_DAYS = (120, 45, 5)


def _array(values: list[str]) -> str:
    return "ARRAY[" + ",".join(f"'{value}'" for value in values) + "]"


def seed(engine: Engine, n: int, now: dt.datetime) -> dict[str, int]:
    """Fill an empty, migrated database; returns the ids the benchmark needs."""
    ids: dict[str, int] = {}
    with engine.begin() as db:
        db.execute(
            text(
                "INSERT INTO subscribers (public_id, email, email_hash, name, language, timezone,"
                " status, status_reason, status_changed_at, created_at, updated_at, bounce_score,"
                " consent_source, discreet, low_bandwidth)"
                " SELECT md5('p' || g), e, encode(sha256(e::bytea), 'hex'),"
                f" ({_array(FIRST)})[1 + g % {len(FIRST)}] || ' ' ||"
                f" ({_array(LAST)})[1 + (g / {len(FIRST)}) % {len(LAST)}],"
                " CASE WHEN g % 3 = 0 THEN 'fr' ELSE 'en' END,"
                " (ARRAY['Europe/Paris','Africa/Dakar','America/Montreal',NULL])[1 + g % 4],"
                " CASE WHEN g % 25 = 0 THEN 'unsubscribed' WHEN g % 100 = 1 THEN 'bounced'"
                " ELSE 'active' END, '', :now - make_interval(days => g % 700),"
                " :now - make_interval(days => g % 700), :now, 0, 'form', false, false"
                f" FROM (SELECT g, 'supporter' || g || '@' || ({_array(DOMAINS)})[1 + g % 6] AS e"
                "       FROM generate_series(1, :n) AS g) AS s"
            ),
            {"n": n, "now": now},
        )
        for slug, every in LISTS:
            list_id = db.execute(
                text(
                    "INSERT INTO mailing_lists (slug, is_public, created_at)"
                    " VALUES (:slug, true, :now) RETURNING id"
                ),
                {"slug": slug, "now": now},
            ).scalar_one()
            ids[slug] = list_id
            db.execute(
                text(
                    "INSERT INTO mailing_list_translations (list_id, language, name, description)"
                    " VALUES (:id, 'en', :name, ''), (:id, 'fr', :name, '')"
                ),
                {"id": list_id, "name": slug.replace("-", " ").title()},
            )
            db.execute(
                text(
                    "INSERT INTO subscriptions (subscriber_id, list_id, status, created_at,"
                    " updated_at) SELECT id, :list, CASE WHEN status = 'active' THEN 'active'"
                    " ELSE 'unsubscribed' END, created_at, created_at FROM subscribers"
                    " WHERE id % :every = 0"
                ),
                {"list": list_id, "every": every},
            )
        for index, days in enumerate(PAST_CAMPAIGN_DAYS):
            sent_at = now - dt.timedelta(days=days)
            campaign_id = _campaign(db, f"Bulletin {index + 1}", "sent", sent_at, ids)
            db.execute(
                text(
                    "INSERT INTO deliveries (campaign_id, subscriber_id, language, status,"
                    " attempts, sent_at, updated_at, message_id, last_reply_code)"
                    " SELECT :c, id, language, CASE WHEN id % 97 = 0 THEN 'failed'"
                    " WHEN id % 89 = 0 THEN 'bounced' ELSE 'sent' END, 1, :at, :at,"
                    " '<' || id || '.' || :c || '@bench>', 250 FROM subscribers"
                ),
                {"c": campaign_id, "at": sent_at},
            )
            db.execute(
                text(
                    "UPDATE campaigns SET total_count = s.total, sent_count = s.sent,"
                    " failed_count = s.failed, bounced_count = s.bounced FROM ("
                    " SELECT count(*) AS total, count(*) FILTER (WHERE status = 'sent') AS sent,"
                    " count(*) FILTER (WHERE status = 'failed') AS failed,"
                    " count(*) FILTER (WHERE status = 'bounced') AS bounced"
                    " FROM deliveries WHERE campaign_id = :c) AS s WHERE id = :c"
                ),
                {"c": campaign_id},
            )
        ids["draft"] = _campaign(db, "Bulletin draft", "draft", None, ids)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as db:
        db.execute(text("VACUUM ANALYZE"))
    return ids


def _campaign(db: object, name: str, status: str, sent_at: dt.datetime | None, ids: dict) -> int:
    campaign_id = db.execute(  # type: ignore[attr-defined]
        text(
            "INSERT INTO campaigns (public_id, kind, name, status, status_reason, template_name,"
            " started_at, finished_at, created_at, updated_at, total_count, sent_count,"
            " deferred_count, failed_count, bounced_count, skipped_count, window_attempts,"
            " window_errors) VALUES (md5(:name), 'newsletter', :name, :status, '', 'newsletter',"
            " :at, :at, coalesce(:at, now()), coalesce(:at, now()), 0, 0, 0, 0, 0, 0, 0, 0)"
            " RETURNING id"
        ),
        {"name": name, "status": status, "at": sent_at},
    ).scalar_one()
    db.execute(  # type: ignore[attr-defined]
        text("INSERT INTO campaign_lists (campaign_id, list_id) VALUES (:c, :l)"),
        {"c": campaign_id, "l": ids["supporters"]},
    )
    db.execute(  # type: ignore[attr-defined]
        text(
            "INSERT INTO campaign_variants (campaign_id, language, subject, preheader,"
            " body_markdown) VALUES (:c, 'en', :name, '', 'Our news this month.'),"
            " (:c, 'fr', :name, '', 'Nos nouvelles du mois.')"
        ),
        {"c": campaign_id, "name": name},
    )
    return campaign_id
