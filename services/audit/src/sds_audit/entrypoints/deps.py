"""What the audit routes depend on: the log's parts and a verified admin identity."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Request

from sds_audit.handlers import AuditLog
from sds_common.auth import Identity, KeyIdentity
from sds_common.http.identity import IdentityCheck
from sds_common.http.problems import ProblemError


@dataclass(frozen=True)
class AuditApi:
    """The audit routes' parts: the log and the identity check every entry point runs."""

    audit: AuditLog
    identity: IdentityCheck


def admin_dependency(check: IdentityCheck) -> Callable[[Request], Awaitable[Identity]]:
    """Build the dependency that admits only a signed-in person with role ``admin``.

    The identity itself is checked as at every entry point (``sds_common.http.identity``). An API
    key is refused (403) even when its creator is an admin: a key is scoped to one project and
    the audit log spans them all.
    """

    async def current_admin(request: Request) -> Identity:
        user = await check(request)
        if isinstance(user, KeyIdentity):
            raise ProblemError(
                403,
                "api_key_not_allowed",
                "an API key cannot read the audit log; sign in as an admin",
            )
        if not user.is_admin:
            raise ProblemError(403, "forbidden", "the audit log is for admins only")
        return user

    return current_admin
