"""The one identity check of every HTTP entry point: gateway, audit, llm, and any later one.

Every route that needs to know who calls depends on the service's :class:`IdentityCheck`; a
request it refuses never reaches a handler:

1. The identity headers are read in one pass over the raw header list. Any of them sent twice,
   in any position and with any value, is refused: the signature, the nonce store and the route
   must all see the same request (a prepended fresh nonce once passed, the signature checking one
   copy and the nonce store claiming the other).
2. The proxy signature is verified (``sds_common.auth.verify_signed``: five headers, 300 s window,
   the active secrets), and with replay protection on (the default) the nonce it covers is claimed
   in the service's nonce store; a nonce seen before is a replay → 401.
3. API keys: the gateway owns them (their table, their revocation, their last use), and no
   service reads another's tables, so the gateway is the only part that verifies one. It does so
   at its door (``sds_gateway.entrypoints.identity``) and hands the request on signed as the key's
   creator, with the key's project and access in ``X-Api-Key-Scope``: over HTTP to the audit and
   llm processes in the distributed runtime, in-process in the embedded one. Here a scoped
   identity becomes a :class:`~sds_common.auth.KeyIdentity`, which each service narrows to the
   key's project. A key sent straight to a service other than the gateway is refused with a
   reason that says where to send it.
4. Each user, or each key (by its scope), is rate-limited per window → 429 with ``Retry-After``.

When the nonce store or the rate limiter (Redis) cannot be reached, requests are refused with 503:
a replay cannot be told apart without the store, so nothing is let through unchecked.

A refusal is logged with its reason and path only (never a header value, a token or a secret) and
published as ``AuthenticationFailed`` through the service's own outbox (actor: the service);
those events are themselves limited per window, so a flood of bad requests cannot fill it.

On the hot path this costs one pass over the raw headers, one HMAC per active secret, one nonce
claim and one rate-limit count (both in memory, or one Redis round trip each): no database.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from fastapi import Request

from sds_common.auth import (
    DEFAULT_MAX_SKEW_S,
    HEADER_SIGNATURE,
    IDENTITY_HEADERS,
    AuthError,
    Identity,
    KeyIdentity,
    verify_signed,
)
from sds_common.db import Database
from sds_common.events import AuthenticationFailed
from sds_common.http.guard import AccessGuard, build_access_guard
from sds_common.http.problems import ProblemError, ServiceUnavailable
from sds_common.http.settings import AccessSettings, resolve_auth_secrets
from sds_common.telemetry.metrics import Metrics

if TYPE_CHECKING:
    from sds_common.runtime.service import Service

log = logging.getLogger(__name__)

#: A nonce is remembered for two windows: a request signed up to 300 s in the future stays
#: acceptable until 300 s after that moment.
NONCE_TTL_S: Final = 2 * DEFAULT_MAX_SKEW_S
AUTH_FAILURES_KEY: Final = "auth-failures"
KEYS_AT_THE_GATEWAY: Final = (
    "API keys are verified by the gateway only: send the request through the gateway"
)
_MAX_PATH: Final = 1000
_AUTHORIZATION: Final = b"authorization"
_SIGNATURE: Final = HEADER_SIGNATURE.lower().encode()
#: Headers that may appear once at most: the identity and the credential of a key.
_SINGLE: Final = {name.lower().encode(): name for name in (*IDENTITY_HEADERS, "Authorization")}
_EXTRAS_KEY: Final = "sds_common.http.identity"


def read_identity_headers(raw: Iterable[tuple[bytes, bytes]]) -> dict[bytes, bytes]:
    """The identity headers and ``Authorization`` of a raw ASGI header list, by lower-case name.

    Args:
        raw: the request's ``(name, value)`` byte pairs, in order.

    Returns:
        The headers found, each at most once.

    Raises:
        AuthError: one of them is sent more than once.
    """
    found: dict[bytes, bytes] = {}
    for name, value in raw:
        key = name.lower()
        if key in _SINGLE:
            if key in found:
                raise AuthError(f"header {_SINGLE[key]} is sent more than once")
            found[key] = value
    return found


def _is_key(authorization: bytes | None) -> bool:
    """Whether ``Authorization`` carries a studio API key (``Bearer sds_…``)."""
    if authorization is None:
        return False
    scheme, _, token = authorization.strip().partition(b" ")
    return scheme.lower() == b"bearer" and token.strip().startswith(b"sds_")


@dataclass(frozen=True, eq=False)  # hashed by identity: FastAPI caches dependencies by them
class IdentityCheck:
    """The identity check of one service's routes (a FastAPI dependency: ``Depends(check)``).

    Attributes:
        service: the service's name (actor of its refusal events, label of its metrics).
        secrets: the active proxy secrets.
        settings: replay protection, rate limits, the refusal events' own limit.
        guard: the nonce store and the rate limiter.
        database: where refusals are recorded (the service's own outbox).
        metrics: where refusals and 429s are counted.
    """

    service: str
    secrets: tuple[str, ...]
    settings: AccessSettings
    guard: AccessGuard
    database: Database
    metrics: Metrics

    async def __call__(self, request: Request) -> Identity:
        """Verify the request's identity, apply its rate limit and return who it acts as.

        Raises:
            ProblemError: 401 ``not_authenticated`` when the identity cannot be trusted, 429
                ``rate_limited`` when the user or key used up its window, 503 when the nonce
                store or the limiter cannot be reached.
        """
        scheme = "proxy"
        try:
            found = read_identity_headers(request.scope["headers"])
            if _SIGNATURE not in found and _is_key(found.get(_AUTHORIZATION)):
                scheme = "api_key"
            user = await self._verified(request, found, scheme=scheme)
        except AuthError as exc:
            await self.refuse(request, scheme=scheme, reason=exc.reason)
            raise ProblemError(
                401, "not_authenticated", f"authentication failed: {exc.reason}"
            ) from None
        await self._limit(user)
        return user

    async def _verified(
        self, request: Request, found: dict[bytes, bytes], *, scheme: str
    ) -> Identity:
        if scheme == "api_key":
            raise AuthError(KEYS_AT_THE_GATEWAY)
        headers = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in found.items()
            if name != _AUTHORIZATION
        }
        nonces = self.guard.nonces
        signed = verify_signed(
            headers,
            secrets=self.secrets,
            method=request.method,
            path=request.url.path,
            require_nonce=nonces is not None,
        )
        # The very nonce the signature covers: there is no other copy to claim instead.
        if (
            nonces is not None
            and signed.nonce is not None
            and not await nonces.claim(signed.nonce, ttl_s=NONCE_TTL_S)
        ):
            raise AuthError("replayed request: this nonce was already used")
        return signed.identity

    async def _limit(self, user: Identity) -> None:
        if isinstance(user, KeyIdentity):
            key, limit, subject = (
                f"key:{user.scope.key_id}",
                self.settings.rate_limit_per_api_key,
                "api_key",
            )
        else:
            key, limit, subject = f"user:{user.user_id}", self.settings.rate_limit_per_user, "user"
        if limit <= 0:
            return
        window = self.settings.rate_limit_window_s
        decision = await self.guard.limiter.hit(key, limit=limit, window_s=window)
        if not decision.allowed:
            self.metrics.http_rate_limited_total.labels(service=self.service, subject=subject).inc()
            raise ProblemError(
                429,
                "rate_limited",
                f"rate limit of {limit} requests per {window} s reached; "
                f"retry in {decision.retry_after_s} s",
                headers={"Retry-After": str(decision.retry_after_s)},
            )

    async def refuse(self, request: Request, *, scheme: str, reason: str) -> None:
        """Log, count and (within the events' own limit) publish a refused request.

        Args:
            request: the refused request (its method, path and client are recorded).
            scheme: ``proxy`` (signed headers) or ``api_key``.
            reason: why, in words safe to log (never a header value).
        """
        path = request.url.path[:_MAX_PATH]
        log.warning("request refused: %s %s: %s", request.method, path, reason)
        limit = self.settings.auth_failure_events_per_window
        recorded = False
        if limit > 0:
            try:
                decision = await self.guard.limiter.hit(
                    AUTH_FAILURES_KEY, limit=limit, window_s=self.settings.rate_limit_window_s
                )
            except ServiceUnavailable:
                log.exception("could not count a refused request")
            else:
                recorded = decision.allowed
        if recorded:
            try:
                async with self.database.unit_of_work(actor=self.service) as uow:
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
        self.metrics.http_auth_failures_total.labels(
            service=self.service, scheme=scheme, recorded=str(recorded).lower()
        ).inc()


def identity_check_of(service: Service, *, secrets: Sequence[str] | None = None) -> IdentityCheck:
    """The identity check of an assembled service, built on first call.

    Args:
        service: the service whose routes it guards.
        secrets: proxy secrets instead of the configured ones (ignored once built).

    Returns:
        The check (one per service: its routes share its nonce store and windows).

    Raises:
        MissingSecretError: distributed runtime without ``SDS_AUTH_SECRETS``.
    """
    existing = service.extras.get(_EXTRAS_KEY)
    if isinstance(existing, IdentityCheck):
        return existing
    settings = service.settings.for_service(AccessSettings)
    check = IdentityCheck(
        service=service.name,
        secrets=tuple(secrets) if secrets else resolve_auth_secrets(settings),
        settings=settings,
        guard=build_access_guard(settings, service=service.name),
        database=service.database,
        metrics=service.metrics,
    )
    service.extras[_EXTRAS_KEY] = check
    return check


async def close_identity_check(service: Service) -> None:
    """Close the connections of ``service``'s identity check, if it was built."""
    existing = service.extras.get(_EXTRAS_KEY)
    if isinstance(existing, IdentityCheck):
        await existing.guard.close()


@asynccontextmanager
async def identity_lifespan(service: Service) -> AsyncIterator[None]:
    """A ``ServiceSpec.lifespan`` for a service whose only long-lived resource is its check."""
    try:
        yield
    finally:
        await close_identity_check(service)
