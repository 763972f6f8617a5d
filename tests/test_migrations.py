"""Migrations: upgrade works on PostgreSQL and SQLite, and the models never drift from them."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Engine, MetaData, String, inspect

from alembic import command
from newsletter.db import make_engine
from newsletter.migrations import alembic_config
from newsletter.models import Base


def drift(engine: Engine) -> list[object]:
    dialect = engine.dialect.name

    def for_this_dialect(item: object, *_args: object) -> bool:
        """An index declared for one dialect only (``ddl_if``) is not expected elsewhere."""
        only = getattr(item, "_ddl_if", None)
        return only is None or only.dialect in (None, dialect)

    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": for_this_dialect}
        )
        return compare_metadata(context, Base.metadata)


def test_postgresql_upgraded_to_head_has_every_table_and_no_drift(pg_engine: Engine) -> None:
    tables = set(inspect(pg_engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert drift(pg_engine) == []


def test_sqlite_upgraded_to_head_has_no_drift(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    try:
        assert drift(engine) == []
        with engine.connect() as connection:
            version = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert version == head
    finally:
        engine.dispose()


def test_sqlite_downgrades_to_base_and_upgrades_again(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    try:
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection=connection), "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection=connection), "head")
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_drift_detection_notices_a_model_change(sqlite_url: str) -> None:
    """The drift check would fail if a model gained a column that no migration creates."""
    changed = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["subscribers"].append_column(Column("not_migrated_yet", String(10)))
    engine = make_engine(sqlite_url)
    try:
        with engine.connect() as connection:
            changes = compare_metadata(MigrationContext.configure(connection), changed)
        assert any("not_migrated_yet" in repr(change) for change in changes)
    finally:
        engine.dispose()
