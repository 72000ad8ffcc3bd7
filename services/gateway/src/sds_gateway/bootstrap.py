"""Assembles the service from its spec and settings; adapters can be injected."""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI

from sds_common.bus import Subscription
from sds_common.db import Database
from sds_common.http.identity import close_identity_check, identity_check_of
from sds_common.http.settings import resolve_auth_secrets
from sds_common.jobs import JobKind
from sds_common.runtime.service import Service, ServiceSpec
from sds_common.runtime.service import bootstrap as assemble
from sds_common.settings import Settings
from sds_gateway import handlers
from sds_gateway.adapters.notifier import JobNotifier
from sds_gateway.adapters.orm import metadata
from sds_gateway.adapters.progress import InProcessJobEvents, JobEventBus, RedisJobEvents
from sds_gateway.adapters.webhook_tables import BACKGROUND_JOBS
from sds_gateway.adapters.webhooks import WebhookParts, build_webhook_parts
from sds_gateway.config import gateway_settings
from sds_gateway.entrypoints.api import build_routers
from sds_gateway.entrypoints.body_limit import BodyLimitMiddleware
from sds_gateway.entrypoints.deps import Gateway
from sds_gateway.entrypoints.http_security import API_PREFIX, configure_http_security
from sds_gateway.entrypoints.identity import ApiKeyDoor, key_verifier
from sds_gateway.entrypoints.problems import install_problem_handler
from sds_gateway.handlers.webhook_delivery import JOB_KIND, WebhookDeliverer

# One notifier per assembled service, shared by its routes (readers) and handlers (writers).
# Keyed by the service's Database: the spec's builders only receive the Service.
_NOTIFIERS: weakref.WeakKeyDictionary[Database, JobNotifier] = weakref.WeakKeyDictionary()


_WEBHOOKS = "gateway.webhooks"
#: The Redis channel of live job events (``SDS_TOPIC_PREFIX`` applies).
JOB_EVENTS_CHANNEL = "gateway.job-events"


def _job_event_bus(settings: Settings) -> JobEventBus:
    """Redis pub/sub when ``SDS_REDIS_URL`` is set (any replica serves any job), else in-process."""
    if settings.redis_url:
        return RedisJobEvents(url=settings.redis_url, channel=settings.topic(JOB_EVENTS_CHANNEL))
    return InProcessJobEvents()


def notifier_of(service: Service) -> JobNotifier:
    """The job notifier of an assembled gateway service."""
    notifier = _NOTIFIERS.get(service.database)
    if notifier is None:
        notifier = _NOTIFIERS[service.database] = JobNotifier(_job_event_bus(service.settings))
    return notifier


def webhooks_of(service: Service) -> WebhookParts:
    """The webhook parts of an assembled gateway service (injected, or built from settings)."""
    parts = service.extras.get(_WEBHOOKS)
    if not isinstance(parts, WebhookParts):
        parts = service.extras[_WEBHOOKS] = build_webhook_parts(gateway_settings(service.settings))
    return parts


def gateway_of(service: Service) -> Gateway:
    """The parts the routes need; resolves the proxy secrets (creating the embedded one).

    Raises:
        MissingSecretError: distributed runtime without ``SDS_AUTH_SECRETS``.
    """
    settings = gateway_settings(service.settings)
    secrets = resolve_auth_secrets(settings)
    return Gateway(
        database=service.database,
        storage=service.storage,
        settings=settings,
        secrets=secrets,
        notifier=notifier_of(service),
        webhooks=webhooks_of(service),
        identity=identity_check_of(service, secrets=secrets),
    )


def _routers(service: Service) -> Sequence[APIRouter]:
    return build_routers(gateway_of(service))


def _configure_app(app: FastAPI, service: Service) -> None:
    install_problem_handler(app)
    settings = gateway_settings(service.settings)
    secrets = resolve_auth_secrets(settings)
    # API keys are the gateway's: it verifies them before routing, for every route of the app
    # (the audit and llm ones too, in-process when embedded, forwarded when distributed).
    app.add_middleware(
        ApiKeyDoor,
        verify=key_verifier(service.database),
        check=identity_check_of(service, secrets=secrets),
        secret=secrets[0],
    )
    # Added before the security headers, so its 413 answers get them too.
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_request_bytes,
        exempt=[("POST", f"{API_PREFIX}/datasets")],
    )
    configure_http_security(app, settings)


@asynccontextmanager
async def _lifespan(service: Service) -> AsyncIterator[None]:
    notifier = notifier_of(service)
    await notifier.start()
    try:
        yield
    finally:
        await notifier.stop()
        await close_identity_check(service)


def _subscriptions(service: Service) -> Sequence[Subscription]:
    return handlers.subscriptions(notifier=notifier_of(service), webhooks=webhooks_of(service))


def _jobs(service: Service) -> Mapping[str, JobKind]:
    deliverer = WebhookDeliverer(database=service.database, parts=webhooks_of(service))
    return {JOB_KIND: deliverer.job_kind()}


SPEC = ServiceSpec(
    name="gateway",
    metadata=metadata,
    migrations=Path(__file__).parent / "adapters" / "migrations",
    subscriptions=_subscriptions,
    routers=_routers,
    configure_app=_configure_app,
    lifespan=_lifespan,
    jobs=_jobs,
    job_concurrency=4,  # webhook deliveries: mostly waiting on receivers
    job_table=BACKGROUND_JOBS,
)


def bootstrap(
    settings: Settings, *, webhooks: WebhookParts | None = None, **adapters: Any
) -> Service:
    """Build the gateway service; ``adapters`` go to ``sds_common.runtime.service.bootstrap``.

    ``webhooks`` replaces the webhook parts built from the settings (tests pass a fake sender,
    resolver or clock this way).
    """
    service = assemble(SPEC, gateway_settings(settings), **adapters)
    if webhooks is not None:
        service.extras[_WEBHOOKS] = webhooks
    return service
