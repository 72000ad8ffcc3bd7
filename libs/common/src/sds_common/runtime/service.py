"""What every service is made of, and how it is put together and started.

A service declares a ``ServiceSpec`` (its name, tables, migrations, event handlers, routes). Its
``bootstrap`` turns the spec plus settings into a ``Service``: database, object store, broker,
outbox relay and consumer group, metrics. Adapters can be passed in (the embedded runtime shares
one in-process broker and one object store among all services; tests pass fakes the same way),
otherwise they are built from settings. Nothing here does I/O until ``start``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from sqlalchemy import MetaData, text

from sds_common.bus.ports import Broker
from sds_common.bus.runtime import Messaging, build_broker
from sds_common.bus.subscription import FaultHook, Subscription
from sds_common.db.engine import create_engine
from sds_common.db.migrations import upgrade
from sds_common.db.uow import Database
from sds_common.http.header_limits import HeaderLimits
from sds_common.jobs import JobKind, JobRunner, add_job_table
from sds_common.runtime.app import create_service_app
from sds_common.settings import Settings
from sds_common.storage import ObjectStore, build_object_store
from sds_common.telemetry.metrics import Metrics


@dataclass(frozen=True)
class ServiceSpec:
    """The static description of a service.

    Attributes:
        name: service name; also its consumer group, PostgreSQL schema and SQLite file.
        metadata: its tables (``outbox``/``inbox`` included).
        migrations: its Alembic script folder.
        subscriptions: builds its event handlers from the assembled service.
        routers: builds its HTTP routers (mounted under ``/api/v1``) from the service.
        jobs: builds its durable background job kinds (needs a ``jobs`` table in ``metadata``).
        job_concurrency: jobs run at once by this process.
        configure_app: called with the app and the assembled service once its routers are
            mounted (middleware, e.g. the gateway's CORS and security headers); ``None`` when
            the service needs nothing.
        job_table: the name of the jobs table (``add_job_table(metadata, name=...)``).
        lifespan: the service's own long-lived resources (a pub/sub connection): entered once
            the migrations ran, before the consumer and the jobs start; exited after they
            stopped. ``None`` when the service has none.
    """

    name: str
    metadata: MetaData
    migrations: Path
    subscriptions: Callable[[Service], Sequence[Subscription]] = lambda _service: ()
    routers: Callable[[Service], Sequence[APIRouter]] = lambda _service: ()
    jobs: Callable[[Service], Mapping[str, JobKind]] = lambda _service: {}
    job_concurrency: int = 1
    configure_app: Callable[[FastAPI, Service], None] | None = None
    job_table: str = "jobs"
    lifespan: Callable[[Service], AbstractAsyncContextManager[None]] | None = None


@dataclass
class Service:
    """A service's assembled dependencies (the result of bootstrap)."""

    spec: ServiceSpec
    settings: Settings
    database: Database
    storage: ObjectStore
    broker: Broker
    metrics: Metrics
    owns_broker: bool = True
    owns_storage: bool = True
    fault_hook: FaultHook | None = None
    messaging: Messaging | None = field(default=None, init=False)
    jobs: JobRunner | None = field(default=None, init=False)
    extras: dict[str, Any] = field(default_factory=dict)
    _resources: AsyncExitStack | None = field(default=None, init=False, repr=False)

    @property
    def name(self) -> str:
        """The service's name."""
        return self.spec.name

    @property
    def schema(self) -> str | None:
        """The PostgreSQL schema the service owns."""
        return self.settings.database_schema or self.spec.name

    async def migrate(self) -> None:
        """Bring the service's tables up to date."""
        await upgrade(
            self.database.engine, script_location=self.spec.migrations, schema=self.schema
        )

    async def start(self) -> None:
        """Migrate, connect storage and broker, start the relay and the consumer group."""
        await self.migrate()
        if self.owns_storage:
            await self.storage.start()
        if self.spec.lifespan is not None:
            resources = AsyncExitStack()
            await resources.enter_async_context(self.spec.lifespan(self))
            self._resources = resources
        self.messaging = Messaging(
            broker=self.broker,
            database=self.database,
            group_id=self.spec.name,
            subscriptions=self.spec.subscriptions(self),
            settings=self.settings,
            fault_hook=self.fault_hook,
            metrics=self.metrics,
        )
        await self.messaging.start()
        kinds = self.spec.jobs(self)
        if kinds:
            self.jobs = JobRunner(
                database=self.database,
                table=add_job_table(self.spec.metadata, name=self.spec.job_table),
                kinds=kinds,
                concurrency=self.spec.job_concurrency,
                lease_s=self.settings.jobs_lease_s,
                max_wait_s=self.settings.jobs_max_wait_s,
            )
            self.jobs.start()

    async def stop(self) -> None:
        """Hand back running jobs, finish the batch in flight, flush the outbox, disconnect."""
        if self.jobs is not None:
            await self.jobs.stop()
            self.jobs = None
        if self.messaging is not None:
            await self.messaging.stop()
            self.messaging = None
        if self._resources is not None:
            resources, self._resources = self._resources, None
            await resources.aclose()
        if self.owns_broker:
            await self.broker.stop()
        if self.owns_storage:
            await self.storage.close()
        await self.database.dispose()

    async def check_database(self) -> None:
        """Readiness: the database answers."""
        async with self.database.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def check_storage(self) -> None:
        """Readiness: the object store answers."""
        await self.storage.exists("ready-probe")

    async def check_jobs(self) -> None:
        """Readiness: the job runner, if the service has jobs, is alive and not stalled."""
        if self.jobs is not None:
            self.jobs.check()

    async def check_consumer(self) -> None:
        """Readiness: the consumer group (if any) is joined and the broker answers now."""
        messaging = self.messaging
        if messaging is None:
            raise RuntimeError("messaging not started")
        if messaging.consumer is not None:
            await messaging.consumer.check()
        else:  # nothing consumed, but the outbox relay still needs the broker
            await messaging.broker.check()


def bootstrap(
    spec: ServiceSpec,
    settings: Settings,
    *,
    broker: Broker | None = None,
    storage: ObjectStore | None = None,
    metrics: Metrics | None = None,
    fault_hook: FaultHook | None = None,
) -> Service:
    """Assemble a service from its spec and settings; pass adapters in to share or fake them.

    Args:
        spec: the service's description.
        settings: process settings.
        broker: a broker to use instead of building one (not stopped by the service).
        storage: an object store to use instead of building one (not closed by the service).
        metrics: the process's metrics (a fresh registry when omitted).
        fault_hook: test-only consumer hook, see ``EventConsumer``.

    Returns:
        The service, not yet started.
    """
    schema = settings.database_schema or spec.name
    engine = create_engine(settings.database_url_for(spec.name), schema=schema)
    database = Database(engine=engine, metadata=spec.metadata, topic_name=settings.topic)
    return Service(
        spec=spec,
        settings=settings,
        database=database,
        storage=storage if storage is not None else build_object_store(settings),
        broker=broker if broker is not None else build_broker(settings),
        metrics=metrics if metrics is not None else Metrics(),
        owns_broker=broker is None,
        owns_storage=storage is None,
        fault_hook=fault_hook,
    )


def create_app(*services: Service, title: str | None = None) -> FastAPI:
    """One HTTP app for one or more services (several only in the embedded runtime).

    The lifespan starts every service and stops them in reverse order, so consumers finish their
    batch in flight before the process exits. ``/ready`` checks each service's database, object
    store, consumer (its broker connection included) and job runner. Each spec's
    ``configure_app`` (if any) runs after every router is mounted, in the order the services are
    given.
    """
    if not services:
        raise ValueError("create_app needs at least one service")
    first = services[0]

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        started: list[Service] = []
        try:
            for service in services:
                await service.start()
                started.append(service)
            yield
        finally:
            for service in reversed(started):
                await service.stop()

    checks = {}
    for service in services:
        checks[f"{service.name}.database"] = service.check_database
        checks[f"{service.name}.consumer"] = service.check_consumer
        checks[f"{service.name}.jobs"] = service.check_jobs
    checks["storage"] = first.check_storage
    app = create_service_app(
        name=title or first.name,
        metrics=first.metrics,
        ready_checks=checks,
        lifespan=lifespan,
        header_limits=HeaderLimits.of(first.settings),
    )
    for service in services:
        for router in service.spec.routers(service):
            app.include_router(router, prefix="/api/v1")
    for service in services:
        if service.spec.configure_app is not None:
            service.spec.configure_app(app, service)
    app.state.services = {service.name: service for service in services}
    return app


def run_service(spec: ServiceSpec, settings: Settings) -> None:
    """Run one service as its own process until SIGTERM/SIGINT (the distributed runtime)."""
    from sds_common.runtime.server import run  # noqa: PLC0415
    from sds_common.telemetry import configure_logging, configure_tracing  # noqa: PLC0415

    configure_logging(settings, exclusive=True)
    configure_tracing(settings)
    run(create_app(bootstrap(spec, settings)), settings)  # tunes the GC once started
