"""The embedded runtime: every service in one process on an in-process bus, SQLite, a folder.

The services are the same code as in the distributed stack; only the adapters differ. Each keeps
its own SQLite file (no service reads another's tables), and all share one in-process broker and
one local object store, exactly as they would share Kafka and S3.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from sds_audit.bootstrap import SPEC as AUDIT
from sds_common.bus import MemoryBroker
from sds_common.runtime.service import ServiceSpec, bootstrap, create_app
from sds_common.settings import BusKind, Runtime, Settings, StorageKind
from sds_common.storage import build_object_store
from sds_common.telemetry import Metrics
from sds_datasets.bootstrap import SPEC as DATASETS
from sds_evaluator.bootstrap import SPEC as EVALUATOR
from sds_gateway.bootstrap import SPEC as GATEWAY
from sds_llm.bootstrap import SPEC as LLM
from sds_trainer.bootstrap import SPEC as TRAINER

SPECS: tuple[ServiceSpec, ...] = (GATEWAY, DATASETS, TRAINER, EVALUATOR, LLM, AUDIT)


def embedded_settings(**overrides: object) -> Settings:
    """Settings of the embedded runtime: environment first, adapters forced to the embedded ones."""
    base = Settings()
    values = base.model_dump()
    values.update(
        runtime=Runtime.EMBEDDED,
        bus=BusKind.MEMORY,
        storage=StorageKind.LOCAL,
        database_url=None,
        service_name="studio",
    )
    values.update(overrides)
    return Settings.model_validate(values)


def build_app(settings: Settings) -> FastAPI:
    """Every service in one app: the gateway's API plus all consumers, started by its lifespan."""
    broker = MemoryBroker()
    storage = build_object_store(settings)
    metrics = Metrics()
    services = [
        bootstrap(spec, settings, broker=broker, storage=storage, metrics=metrics) for spec in SPECS
    ]
    app = create_app(*services, title="Synthetic Data Studio")
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app_: FastAPI) -> AsyncIterator[None]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        await storage.start()
        await broker.start()
        try:
            async with inner(app_):
                yield
        finally:
            await broker.stop()
            await storage.close()

    app.router.lifespan_context = lifespan
    return app
