"""The embedded runtime starts every service in one process and reports them ready."""

from __future__ import annotations

from pathlib import Path

import httpx
from asgi_lifespan import LifespanManager

from sds_studio.embedded import SPECS, build_app, embedded_settings


async def test_every_service_is_ready_in_one_process(tmp_path: Path) -> None:
    settings = embedded_settings(data_dir=tmp_path)
    app = build_app(settings)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://studio") as client:
            ready = await client.get("/ready")
            health = await client.get("/health")
            metrics = await client.get("/metrics")
    assert ready.status_code == 200, ready.text
    checks = ready.json()["checks"]
    for spec in SPECS:
        assert checks[f"{spec.name}.database"] == {"status": "ok"}
        assert checks[f"{spec.name}.consumer"] == {"status": "ok"}
    assert checks["storage"] == {"status": "ok"}
    assert health.json()["status"] == "ok"
    assert "http_requests_total" in metrics.text
    # Each service owns its own database file: no service can read another's tables.
    assert sorted(p.stem for p in (tmp_path / "db").glob("*.sqlite")) == sorted(
        s.name for s in SPECS
    )


def test_embedded_settings_ignore_distributed_environment(
    monkeypatch: object, tmp_path: Path
) -> None:
    monkeypatch.setenv("SDS_BUS", "kafka")  # type: ignore[attr-defined]
    monkeypatch.setenv("SDS_DATABASE_URL", "postgresql+asyncpg://x/y")  # type: ignore[attr-defined]
    settings = embedded_settings(data_dir=tmp_path)
    assert settings.bus == "memory"
    assert settings.database_url is None
    assert settings.database_url_for("trainer").startswith("sqlite+aiosqlite:///")
