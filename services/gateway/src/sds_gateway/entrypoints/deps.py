"""What every route depends on: the gateway's parts and the caller's verified identity."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Request

from sds_common.auth import Identity
from sds_common.db import Database
from sds_common.storage import ObjectStore
from sds_gateway.adapters.access_guard import AccessGuard
from sds_gateway.adapters.notifier import JobNotifier
from sds_gateway.adapters.webhooks import WebhookParts
from sds_gateway.config import GatewaySettings
from sds_gateway.entrypoints.identity import Authenticator


@dataclass(frozen=True)
class Gateway:
    """The gateway's assembled parts, as routes need them."""

    database: Database
    storage: ObjectStore
    settings: GatewaySettings
    secrets: tuple[str, ...]
    notifier: JobNotifier
    webhooks: WebhookParts
    guard: AccessGuard


def identity_dependency(gateway: Gateway) -> Callable[[Request], Awaitable[Identity]]:
    """Build the dependency that authenticates a request (see ``entrypoints.identity``)."""
    authenticator = Authenticator(
        database=gateway.database,
        settings=gateway.settings,
        secrets=gateway.secrets,
        guard=gateway.guard,
    )

    async def current_user(request: Request) -> Identity:
        return await authenticator.authenticate(request)

    return current_user
