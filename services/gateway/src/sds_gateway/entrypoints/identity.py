"""Who a request comes from: signed proxy headers (people) or an API key (machine clients).

Every ``/api/v1`` route depends on ``authenticate``; a request it refuses never reaches a handler:

1. ``Authorization: Bearer sds_…`` without proxy headers → the API key is looked up by its prefix
   and its hash compared in constant time; the request then acts as the key's creator, inside the
   key's scope (``domain.access``). Its use is recorded at most once a minute.
2. Otherwise the proxy signature is verified (``sds_common.auth.verify``): five headers, 300 s
   window, two secrets during a rotation, and, with replay protection on, a nonce that is claimed
   in the nonce store; a nonce seen before is a replay → 401.
3. Each user (proxy) or key is rate-limited per window → 429 with ``Retry-After``.

When the nonce store or the rate limiter (Redis) cannot be reached, requests are refused with
503: a replay cannot be told apart without the store, so nothing is let through unchecked.

A refusal is logged with its reason and path only (never a header value, a token or a secret) and
published as ``AuthenticationFailed`` through the outbox; those events are themselves limited per
window, so a flood of bad requests cannot fill the outbox.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Final

from fastapi import Request

from sds_common.auth import (
    DEFAULT_MAX_SKEW_S,
    HEADER_SIGNATURE,
    AuthError,
    Identity,
    request_nonce,
    verify,
)
from sds_common.db import Database
from sds_common.events import AuthenticationFailed
from sds_gateway.adapters import api_keys as key_store
from sds_gateway.adapters.access_guard import AccessGuard
from sds_gateway.adapters.records import utc, utcnow
from sds_gateway.commands.projects import remember_user
from sds_gateway.config import GatewaySettings
from sds_gateway.domain import api_keys
from sds_gateway.domain.access import KEY_SCOPE, KeyAccess, KeyIdentity, KeyScope
from sds_gateway.domain.errors import NotAuthenticated, RateLimited, Unavailable

log = logging.getLogger(__name__)

#: A nonce is remembered for two windows: a request signed up to 300 s in the future stays
#: acceptable until 300 s after that moment.
NONCE_TTL_S: Final = 2 * DEFAULT_MAX_SKEW_S
AUTH_FAILURES_KEY: Final = "auth-failures"
_MAX_PATH: Final = 1000


@dataclass(frozen=True)
class Authenticator:
    """The parts authentication needs (a view of the assembled gateway)."""

    database: Database
    settings: GatewaySettings
    secrets: tuple[str, ...]
    guard: AccessGuard

    async def authenticate(self, request: Request) -> Identity:
        """Verify the request's identity, apply its rate limit and return who it acts as.

        Raises:
            NotAuthenticated: the identity cannot be trusted (401).
            RateLimited: the user or key used up its window (429).
        """
        KEY_SCOPE.set(None)
        token = api_keys.bearer_token(request.headers.get("authorization"))
        scheme = (
            "api_key" if token is not None and HEADER_SIGNATURE not in request.headers else "proxy"
        )
        try:
            if scheme == "api_key":
                assert token is not None
                user: Identity = await self._api_key(token)
            else:
                user = await self._proxy(request)
        except AuthError as exc:
            await self._refused(request, scheme=scheme, reason=exc.reason)
            raise NotAuthenticated(f"authentication failed: {exc.reason}") from None
        if isinstance(user, KeyIdentity):
            await self._limit(
                f"key:{user.scope.key_id}",
                limit=self.settings.rate_limit_per_api_key,
                subject="api_key",
            )
            KEY_SCOPE.set(user.scope)
        else:
            await self._limit(
                f"user:{user.user_id}", limit=self.settings.rate_limit_per_user, subject="user"
            )
            await remember_user(self.database, user)
        return user

    async def _proxy(self, request: Request) -> Identity:
        nonces = self.guard.nonces
        user = verify(
            request.headers,
            secrets=self.secrets,
            method=request.method,
            path=request.url.path,
            require_nonce=nonces is not None,
        )
        nonce = request_nonce(request.headers)
        if (
            nonces is not None
            and nonce is not None
            and not await nonces.claim(nonce, ttl_s=NONCE_TTL_S)
        ):
            raise AuthError("replayed request: this nonce was already used")
        return user

    async def _api_key(self, token: str) -> KeyIdentity:
        prefix = api_keys.parse(token)
        if prefix is None:
            raise AuthError("malformed API key")
        async with self.database.sessions() as session:
            row = await key_store.find_active(session, prefix=prefix)
        if row is None or not api_keys.matches(token, row["secret_hash"]):
            raise AuthError("unknown or revoked API key")
        now = utcnow()
        last_used = row["last_used_at"]
        if api_keys.due_for_touch(None if last_used is None else utc(last_used), now):
            async with self.database.sessions() as session, session.begin():
                await key_store.touch(
                    session, key_id=row["id"], now=now, every=api_keys.TOUCH_EVERY
                )
        return KeyIdentity(
            user_id=row["user_id"],
            email=row["email"],
            role="admin" if row["role"] == "admin" else "user",
            scope=KeyScope(
                key_id=row["id"], project_id=row["project_id"], access=KeyAccess(row["access"])
            ),
        )

    async def _limit(self, key: str, *, limit: int, subject: str) -> None:
        if limit <= 0:
            return
        decision = await self.guard.limiter.hit(
            key, limit=limit, window_s=self.settings.rate_limit_window_s
        )
        if not decision.allowed:
            self.guard.metrics.rate_limited.labels(subject=subject).inc()
            raise RateLimited(
                f"rate limit of {limit} requests per {self.settings.rate_limit_window_s} s "
                f"reached; retry in {decision.retry_after_s} s",
                retry_after_s=decision.retry_after_s,
            )

    async def _refused(self, request: Request, *, scheme: str, reason: str) -> None:
        """Log and (within the events' own limit) publish a refused request."""
        path = request.url.path[:_MAX_PATH]
        log.warning("request refused: %s %s: %s", request.method, path, reason)
        limit = self.settings.auth_failure_events_per_window
        recorded = False
        if limit > 0:
            try:
                decision = await self.guard.limiter.hit(
                    AUTH_FAILURES_KEY, limit=limit, window_s=self.settings.rate_limit_window_s
                )
            except Unavailable:
                log.exception("could not count a refused request")
            else:
                recorded = decision.allowed
        if recorded:
            try:
                async with self.database.unit_of_work(actor="gateway") as uow:
                    await uow.emit(
                        AuthenticationFailed(
                            reason=f"{scheme}: {reason}",
                            method=request.method[:16],
                            path=path,
                            client=request.client.host if request.client else None,
                        )
                    )
            except Exception:
                # Losing the event must not turn a 401 into a 500: the log line above remains.
                log.exception("could not record a refused request")
                recorded = False
        self.guard.metrics.auth_failures.labels(scheme=scheme, recorded=str(recorded).lower()).inc()
