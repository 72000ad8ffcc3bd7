"""Every service's Alembic history builds exactly the tables its ORM metadata declares."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from sds_common.db import create_engine
from sds_common.db.migrations import upgrade

SERVICES = sorted(
    p.name
    for p in (Path(__file__).resolve().parents[2] / "services").iterdir()
    if (p / "pyproject.toml").exists()
)


def _service(name: str) -> tuple[Path, object]:
    orm = importlib.import_module(f"sds_{name}.adapters.orm")
    return Path(orm.__file__).parent / "migrations", orm.metadata  # type: ignore[arg-type]


async def _assert_no_drift(url: str, service: str, schema: str | None) -> None:
    location, metadata = _service(service)
    engine = create_engine(url, schema=schema)
    try:
        await upgrade(engine, script_location=location, schema=schema)
        await upgrade(engine, script_location=location, schema=schema)  # idempotent
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c), metadata)  # type: ignore[arg-type]
            )
        assert diff == [], f"{service}: migrations and ORM differ: {diff}"
    finally:
        if schema is not None:
            async with engine.begin() as conn:
                await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await engine.dispose()


@pytest.mark.parametrize("service", SERVICES)
async def test_migrations_match_models_on_sqlite(service: str, tmp_path: Path) -> None:
    await _assert_no_drift(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}", service, None)


@pytest.mark.postgres
@pytest.mark.parametrize("service", SERVICES)
async def test_migrations_match_models_on_postgres(
    service: str, postgres_dsn: str, unique_name: str
) -> None:
    url = postgres_dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    await _assert_no_drift(url, service, f"{service}_{unique_name}")
