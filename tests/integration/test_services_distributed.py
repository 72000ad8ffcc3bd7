"""Each service, assembled for the distributed stack, becomes ready against real servers."""

from __future__ import annotations

import asyncio
import importlib

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import text

from sds_common.db import create_engine
from sds_common.runtime.service import create_app
from sds_common.settings import Settings
from tests.conftest import S3Server

SERVICES = ["gateway", "datasets", "trainer", "evaluator", "llm", "audit"]
pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.s3]


@pytest.fixture
def distributed(
    kafka_bootstrap: str, postgres_dsn: str, s3_server: S3Server, unique_name: str
) -> dict[str, str]:
    return {
        "runtime": "distributed",
        "bus": "kafka",
        "kafka_bootstrap_servers": kafka_bootstrap,
        "topic_prefix": f"{unique_name}.",
        "database_url": postgres_dsn.replace("postgresql://", "postgresql+asyncpg://", 1),
        "storage": "s3",
        "s3_endpoint": s3_server.endpoint,
        "s3_access_key": s3_server.access_key,
        "s3_secret_key": s3_server.secret_key,
        "s3_bucket": unique_name,
    }


@pytest.mark.parametrize("name", SERVICES)
async def test_service_is_ready_on_real_infrastructure(
    name: str, distributed: dict[str, str], unique_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SDS_AUTH_SECRETS", "test-secret-one,test-secret-two")
    monkeypatch.setenv("SDS_AUDIT_SIGNING_KEY", "test-audit-signing-key")
    bootstrap = importlib.import_module(f"sds_{name}.bootstrap")
    settings = Settings.model_validate({**distributed, "database_schema": f"{name}_{unique_name}"})
    service = bootstrap.bootstrap(settings)
    app = create_app(service)
    try:
        async with LifespanManager(app, startup_timeout=60) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
                # Not ready until the consumer group has joined: poll like an orchestrator does.
                for _ in range(120):
                    ready = await client.get("/ready")
                    if ready.status_code == 200:
                        break
                    await asyncio.sleep(0.5)
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"][f"{name}.database"] == {"status": "ok"}
    finally:
        engine = create_engine(distributed["database_url"])
        async with engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}_{unique_name}" CASCADE'))
        await engine.dispose()
