"""Assembles the service from its spec and settings; adapters can be injected."""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fastapi import APIRouter

from sds_audit import handlers
from sds_audit.adapters.orm import metadata
from sds_audit.config import audit_settings, resolve_signing_key
from sds_audit.entrypoints import api
from sds_audit.entrypoints.deps import AuditApi
from sds_common.bus import Subscription
from sds_common.db import Database
from sds_common.http.identity import identity_check_of, identity_lifespan
from sds_common.runtime.service import Service, ServiceSpec
from sds_common.runtime.service import bootstrap as assemble
from sds_common.settings import Settings

# One AuditLog per assembled service, shared by its consumer and its routes. Keyed by the
# service's Database: the spec's builders only receive the Service.
_LOGS: weakref.WeakKeyDictionary[Database, handlers.AuditLog] = weakref.WeakKeyDictionary()


def audit_log_of(service: Service) -> handlers.AuditLog:
    """The audit log of an assembled service; resolves the signing key (embedded: creates it).

    Raises:
        MissingSecretError: distributed runtime without ``SDS_AUDIT_SIGNING_KEY``.
    """
    audit = _LOGS.get(service.database)
    if audit is None:
        settings = audit_settings(service.settings)
        audit = _LOGS[service.database] = handlers.AuditLog(
            database=service.database,
            signing_key=resolve_signing_key(settings),
            checkpoint_every=settings.audit_checkpoint_every,
        )
    return audit


def _subscriptions(service: Service) -> Sequence[Subscription]:
    return handlers.subscriptions(audit_log_of(service))


def _routers(service: Service) -> Sequence[APIRouter]:
    return [api.router(AuditApi(audit=audit_log_of(service), identity=identity_check_of(service)))]


SPEC = ServiceSpec(
    name="audit",
    metadata=metadata,
    migrations=Path(__file__).parent / "adapters" / "migrations",
    subscriptions=_subscriptions,
    routers=_routers,
    lifespan=identity_lifespan,
)


def bootstrap(settings: Settings, **adapters: Any) -> Service:
    """Build the audit service; ``adapters`` go to ``sds_common.runtime.service.bootstrap``."""
    return assemble(SPEC, audit_settings(settings), **adapters)
