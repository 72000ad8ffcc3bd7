"""While PostgreSQL is unreachable, every entry point answers 503 problem JSON with Retry-After.

Finding 14: gateway, audit and llm answered ``500 text/plain`` on every route while PostgreSQL was
down. Each service here reaches the real PostgreSQL through a TCP proxy that the test cuts (the
shared server itself keeps running): pooled connections are reset and new ones refused, as in an
outage. Once the proxy is back, the same route answers normally again, with no restart.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import text

from sds_common.db import create_engine
from tests.support.doors import SERVICES, open_door
from tests.support.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.postgres]

#: service → a route that reads the service's own database, and its answer while it is up.
ROUTES = {
    "gateway": ("GET", "/api/v1/projects", 200),
    "audit": ("GET", "/api/v1/audit/events", 200),
    "llm": ("POST", "/api/v1/datasets/5b0f6a34-7c1e-4d2a-9a51-3f0e8c2b7d10/data-dictionary", 404),
}


async def _drop(url: str, schema: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        await engine.dispose()


@pytest.mark.parametrize("service", SERVICES)
async def test_a_database_outage_is_503_problem_json_with_retry_after(
    tmp_path: Path, postgres_dsn: str, unique_name: str, service: str
) -> None:
    direct = urlsplit(postgres_dsn)
    proxy = TcpProxy(direct.hostname or "127.0.0.1", direct.port or 5432)
    await proxy.start()
    through = postgres_dsn.replace(f"{direct.hostname}:{direct.port}", f"127.0.0.1:{proxy.port}")
    url = through.replace("postgresql://", "postgresql+asyncpg://", 1)
    schema = f"{service}_{unique_name}"
    method, path, up = ROUTES[service]
    try:
        async with open_door(service, tmp_path, database_url=url, database_schema=schema) as door:
            assert (await door.call(method, path)).status_code == up
            await proxy.cut()
            # Twice: a pooled connection that breaks, then a new one that is refused.
            for _ in range(2):
                down = await door.call(method, path)
                assert down.status_code == 503, down.text
                assert down.headers["content-type"] == "application/problem+json"
                assert int(down.headers["retry-after"]) >= 1
                body = down.json()
                assert (body["status"], body["code"]) == (503, "database_unavailable")
                assert postgres_dsn not in down.text  # no address or credential leaks out
            await proxy.start()
            assert (await door.call(method, path)).status_code == up
    finally:
        await proxy.cut()
        await _drop(postgres_dsn.replace("postgresql://", "postgresql+asyncpg://", 1), schema)
