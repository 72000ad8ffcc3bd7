"""What every route depends on: the gateway's parts and the caller's verified identity."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Request

from sds_common.auth import Identity, KeyIdentity
from sds_common.db import Database
from sds_common.http.identity import IdentityCheck
from sds_common.storage import ObjectStore
from sds_gateway.adapters.notifier import JobNotifier
from sds_gateway.adapters.webhooks import WebhookParts
from sds_gateway.commands.projects import remember_user
from sds_gateway.config import GatewaySettings
from sds_gateway.domain.access import KEY_SCOPE


@dataclass(frozen=True)
class Gateway:
    """The gateway's assembled parts, as routes need them."""

    database: Database
    storage: ObjectStore
    settings: GatewaySettings
    secrets: tuple[str, ...]
    notifier: JobNotifier
    webhooks: WebhookParts
    identity: IdentityCheck


def identity_dependency(gateway: Gateway) -> Callable[[Request], Awaitable[Identity]]:
    """Build the dependency that authenticates a request (``sds_common.http.identity``).

    A person is recorded on first sight (and when their email or role changes); a request made
    with an API key acts within the key's scope (``domain.access.KEY_SCOPE``).
    """
    check = gateway.identity
    database = gateway.database

    async def current_user(request: Request) -> Identity:
        KEY_SCOPE.set(None)
        user = await check(request)
        if isinstance(user, KeyIdentity):
            KEY_SCOPE.set(user.scope)
        else:
            await remember_user(database, user)
        return user

    return current_user
