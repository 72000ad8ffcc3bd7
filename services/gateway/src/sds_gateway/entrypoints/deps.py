"""What every route depends on: the gateway's parts and the caller's verified identity."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Request

from sds_common.auth import AuthError, Identity, verify
from sds_common.db import Database
from sds_common.storage import ObjectStore
from sds_gateway.adapters.notifier import JobNotifier
from sds_gateway.commands.projects import remember_user
from sds_gateway.config import GatewaySettings
from sds_gateway.domain.errors import NotAuthenticated

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Gateway:
    """The gateway's assembled parts, as routes need them."""

    database: Database
    storage: ObjectStore
    settings: GatewaySettings
    secrets: tuple[str, ...]
    notifier: JobNotifier


def identity_dependency(gateway: Gateway) -> Callable[[Request], Awaitable[Identity]]:
    """Build the dependency that verifies the proxy signature and remembers the user."""

    async def current_user(request: Request) -> Identity:
        try:
            user = verify(
                request.headers,
                secrets=gateway.secrets,
                method=request.method,
                path=request.url.path,
            )
        except AuthError as exc:
            # The reason only: header values and secrets never reach the log.
            log.warning("request refused: %s %s: %s", request.method, request.url.path, exc.reason)
            raise NotAuthenticated(f"authentication failed: {exc.reason}") from None
        await remember_user(gateway.database, user)
        return user

    return current_user
