"""A running service for the subscriber journey: uvicorn on loopback, PostgreSQL, Redis, SMTP."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from newsletter.config import Settings
from newsletter.subscribers.models import MailingList, MailingListTranslation
from newsletter.web.app import create_app
from tests.conftest import REDIS_FIXTURE_DB, REDIS_HOST_URL, make_test_settings
from tests.smtp_server import SmtpTestServer

LISTS = [
    ("press-releases", "Press releases", "Communiqués de presse"),
    ("events", "Events and webinars", "Événements et webinaires"),
]


@dataclass
class Service:
    settings: Settings
    url: str
    db: sessionmaker[Session]
    smtp: SmtpTestServer
    app: Any

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10, **kwargs)


def add_public_lists(db: sessionmaker[Session]) -> None:
    with db.begin() as session:
        for slug, en, fr in LISTS:
            item = MailingList(slug=slug, is_public=True)
            item.translations = [
                MailingListTranslation(language="en", name=en),
                MailingListTranslation(language="fr", name=fr),
            ]
            session.add(item)


@pytest.fixture
def start_service(
    tmp_path: Path,
    pg_url: str,
    committed_db: sessionmaker[Session],
    smtp_server: SmtpTestServer,
    redis_client: Any,
    live_server: Callable[[Any], str],
) -> Iterator[Callable[..., Service]]:
    """``start_service(**setting_overrides)``: the app served over real HTTP."""
    add_public_lists(committed_db)

    def start(**overrides: Any) -> Service:
        values: dict[str, Any] = {
            "database_url": pg_url,
            "smtp_url": smtp_server.url,
            "redis_url": f"{REDIS_HOST_URL}/{REDIS_FIXTURE_DB}",
            "min_fill_seconds": 0,
        }
        values.update(overrides)
        settings = make_test_settings(tmp_path, **values)
        app = create_app(settings)
        url = live_server(app)
        settings.base_url = url  # links in emails must point at this server
        return Service(settings, url, committed_db, smtp_server, app)

    yield start


@pytest.fixture
def service(start_service: Callable[..., Service]) -> Service:
    return start_service()


def form_values(html: str) -> dict[str, str]:
    """The hidden inputs of the first form on a page (csrf_token, form_stamp, ...)."""
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))


def link_in(message: Any, path: str) -> str:
    text = message.get_body(("plain",)).get_content()
    match = re.search(rf"https?://\S+/{path}/\S+", text)
    assert match, f"no /{path}/ link in the email"
    return match.group(0)
