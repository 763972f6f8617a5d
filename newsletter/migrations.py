"""Run the Alembic migrations from code (the CLI, the test fixtures, `newsletter run`)."""

from __future__ import annotations

from alembic.config import Config
from sqlalchemy import Connection

from alembic import command
from newsletter.config import PROJECT_ROOT


def alembic_config(database_url: str | None = None, connection: Connection | None = None) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    config.attributes["configure_logging"] = False
    if connection is not None:
        config.attributes["connection"] = connection
    if database_url is not None:
        config.cmd_opts = None
        config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    from newsletter.db import make_engine

    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection=connection), revision)
    finally:
        engine.dispose()
