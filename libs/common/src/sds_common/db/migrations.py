"""Alembic, the same way for every service: one migration history per service, own schema.

A service keeps its history in ``sds_<svc>/adapters/migrations`` whose ``env.py`` is two lines
(``run_env(metadata)``). ``upgrade`` applies it programmatically at start-up or in tests, on
PostgreSQL (inside the service's schema, version table included) and on SQLite alike.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from sds_common.db.messaging import _BIGINT

VERSION_TABLE = "alembic_version"


def alembic_config(*, script_location: Path, url: str, schema: str | None) -> Config:
    """Build an Alembic config for one service's history."""
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["schema"] = schema
    return config


async def upgrade(
    engine: AsyncEngine, *, script_location: Path, schema: str | None, revision: str = "heads"
) -> None:
    """Apply the service's migrations up to ``revision`` on ``engine``."""
    config = alembic_config(
        script_location=script_location,
        url=engine.url.render_as_string(hide_password=False),
        schema=schema,
    )
    async with engine.begin() as conn:
        if schema is not None and conn.dialect.name == "postgresql":
            await conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')

        def _run(sync_conn: Connection) -> None:
            config.attributes["connection"] = sync_conn
            command.upgrade(config, revision)

        await conn.run_sync(_run)


def _configure(connection: Connection, metadata: MetaData, schema: str | None) -> None:
    in_schema = schema if connection.dialect.name == "postgresql" else None
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        version_table_schema=in_schema,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def run_env(metadata: MetaData) -> None:
    """The body of every service's ``env.py``."""
    config = context.config
    schema: str | None = config.attributes.get("schema")
    connection: Connection | None = config.attributes.get("connection")
    if connection is not None:
        _configure(connection, metadata, schema)
        with context.begin_transaction():
            context.run_migrations()
        return
    # Command-line use (``alembic -c ... upgrade head``): open our own connection.
    import asyncio  # noqa: PLC0415

    url = config.get_main_option("sqlalchemy.url") or ""
    connect_args: dict[str, Any] = {}
    if schema and url.startswith("postgresql"):
        connect_args = {"server_settings": {"search_path": schema}}
    engine = create_async_engine(url, poolclass=pool.NullPool, connect_args=connect_args)

    def _migrate(sync_conn: Connection) -> None:
        _configure(sync_conn, metadata, schema)
        with context.begin_transaction():
            context.run_migrations()

    async def _online() -> None:
        async with engine.begin() as conn:
            await conn.run_sync(_migrate)
        await engine.dispose()

    asyncio.run(_online())


def create_messaging_tables() -> None:
    """Migration step shared by every service's first revision: ``outbox`` and ``inbox``."""
    from alembic import op  # noqa: PLC0415 — only valid inside a running migration

    op.create_table(
        "outbox",
        sa.Column("id", _BIGINT, primary_key=True, autoincrement=True),
        sa.Column("topic", sa.String(255), nullable=False),
        sa.Column("key", sa.String(255), nullable=True),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.create_table(
        "inbox",
        sa.Column("handler", sa.String(255), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column(
            "handled_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("handler", "event_id", name="pk_inbox"),
    )


def drop_messaging_tables() -> None:
    """Inverse of ``create_messaging_tables``."""
    from alembic import op  # noqa: PLC0415

    op.drop_table("inbox")
    op.drop_table("outbox")


def create_job_table(name: str = "jobs") -> None:
    """Migration step for services with durable background jobs (``sds_common.jobs``).

    ``name`` is the table's name (see ``add_job_table``).
    """
    from alembic import op  # noqa: PLC0415

    op.create_table(
        name,
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.create_index(f"ix_{name}_status", name, ["status"])
