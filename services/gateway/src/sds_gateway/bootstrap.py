"""Assembles the service from its spec and settings; adapters can be injected."""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI

from sds_common.bus import Subscription
from sds_common.db import Database
from sds_common.runtime.service import Service, ServiceSpec
from sds_common.runtime.service import bootstrap as assemble
from sds_common.settings import Settings
from sds_gateway import handlers
from sds_gateway.adapters.notifier import JobNotifier
from sds_gateway.adapters.orm import metadata
from sds_gateway.config import gateway_settings, resolve_auth_secrets
from sds_gateway.entrypoints.api import build_routers
from sds_gateway.entrypoints.deps import Gateway
from sds_gateway.entrypoints.http_security import configure_http_security
from sds_gateway.entrypoints.problems import install_problem_handler

# One notifier per assembled service, shared by its routes (readers) and handlers (writers).
# Keyed by the service's Database: the spec's builders only receive the Service.
_NOTIFIERS: weakref.WeakKeyDictionary[Database, JobNotifier] = weakref.WeakKeyDictionary()


def notifier_of(service: Service) -> JobNotifier:
    """The job notifier of an assembled gateway service."""
    notifier = _NOTIFIERS.get(service.database)
    if notifier is None:
        notifier = _NOTIFIERS[service.database] = JobNotifier()
    return notifier


def gateway_of(service: Service) -> Gateway:
    """The parts the routes need; resolves the proxy secrets (creating the embedded one).

    Raises:
        MissingSecretError: distributed runtime without ``SDS_AUTH_SECRETS``.
    """
    settings = gateway_settings(service.settings)
    return Gateway(
        database=service.database,
        storage=service.storage,
        settings=settings,
        secrets=resolve_auth_secrets(settings),
        notifier=notifier_of(service),
    )


def _routers(service: Service) -> Sequence[APIRouter]:
    return build_routers(gateway_of(service))


def _configure_app(app: FastAPI, service: Service) -> None:
    install_problem_handler(app)
    configure_http_security(app, gateway_settings(service.settings))


def _subscriptions(service: Service) -> Sequence[Subscription]:
    return handlers.subscriptions(notifier=notifier_of(service))


SPEC = ServiceSpec(
    name="gateway",
    metadata=metadata,
    migrations=Path(__file__).parent / "adapters" / "migrations",
    subscriptions=_subscriptions,
    routers=_routers,
    configure_app=_configure_app,
)


def bootstrap(settings: Settings, **adapters: Any) -> Service:
    """Build the gateway service; ``adapters`` go to ``sds_common.runtime.service.bootstrap``."""
    return assemble(SPEC, gateway_settings(settings), **adapters)
