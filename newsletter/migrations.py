"""Run the Alembic migrations from code (the CLI, the test fixtures, `newsletter run`)."""

from __future__ import annotations

from alembic.config import Config
from sqlalchemy import Connection

from alembic import command
from newsletter.resources import package_folder


def alembic_config(database_url: str | None = None, connection: Connection | None = None) -> Config:
    """Alembic's configuration for the migrations the package ships.

    No ``alembic.ini`` is read: the installed package has none (the checkout's is for the
    ``alembic`` command of developers), and the service configures its own logging.
    """
    config = Config()
    config.set_main_option("script_location", str(package_folder("alembic")))
    config.set_main_option("path_separator", "os")
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
