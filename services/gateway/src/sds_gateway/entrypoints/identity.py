"""Who a request comes from: signed proxy headers (people) or an API key (machine clients).

Every ``/api/v1`` route of every service depends on its service's identity check
(``sds_common.http.identity``: one of each header, replay protection, rate limits, refusal
events). What is the gateway's alone is API keys: it owns them (their table, revocation and
last use), and no other service reads its tables. So the gateway verifies a key at its door,
:class:`ApiKeyDoor`, before any routing, for every path of the app it runs in:

1. ``Authorization: Bearer sds_…`` without ``X-Proxy-Signature`` → the key is looked up by its
   prefix and its hash compared in constant time (its use recorded at most once a minute).
2. The request then goes on as a signed identity: the key's creator, with a fresh nonce and the
   key's project and access in ``X-Api-Key-Scope``, signed with the gateway's first proxy secret;
   ``Authorization`` is removed. The route's own identity check verifies that like any signed
   request and narrows it to the key's scope; the gateway's routes cap roles with it
   (``domain.access``), the llm routes serve the key's project only, the audit routes refuse
   keys. In the distributed runtime the gateway forwards those headers to the audit and llm
   services, which verify them again; in the embedded runtime they are served in-process.

A key that is malformed, unknown or revoked is 401 here, recorded like every refusal.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Final

from fastapi import Request

from sds_common.auth import (
    HEADER_SIGNATURE,
    IDENTITY_HEADERS,
    AuthError,
    KeyAccess,
    KeyIdentity,
    KeyScope,
    signed_headers,
)
from sds_common.db import Database
from sds_common.http.identity import IdentityCheck
from sds_common.http.outages import RETRY_AFTER_S, database_outage
from sds_common.http.problems import problem_response
from sds_gateway.adapters import api_keys as key_store
from sds_gateway.adapters.records import utc, utcnow
from sds_gateway.domain import api_keys

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger(__name__)

_AUTHORIZATION: Final = b"authorization"
_SIGNATURE: Final = HEADER_SIGNATURE.lower().encode()
#: Replaced by the signed identity: what a client sent under these names is dropped.
_REPLACED: Final = frozenset({_AUTHORIZATION, *(h.lower().encode() for h in IDENTITY_HEADERS)})

KeyVerifier = Callable[[str], Awaitable[KeyIdentity]]
"""Turns a token into the identity of its key, or raises ``AuthError``."""


def key_verifier(database: Database) -> KeyVerifier:
    """The verifier of API keys against the gateway's ``api_keys`` table."""

    async def verify(token: str) -> KeyIdentity:
        prefix = api_keys.parse(token)
        if prefix is None:
            raise AuthError("malformed API key")
        async with database.sessions() as session:
            row = await key_store.find_active(session, prefix=prefix)
        if row is None or not api_keys.matches(token, row["secret_hash"]):
            raise AuthError("unknown or revoked API key")
        now = utcnow()
        last_used = row["last_used_at"]
        if api_keys.due_for_touch(None if last_used is None else utc(last_used), now):
            async with database.sessions() as session, session.begin():
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

    return verify


def _key_token(raw: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The API key of a request that carries exactly one ``Authorization: Bearer sds_…`` and no
    proxy signature (a signed request is always verified as such, whatever else it carries)."""
    authorization: bytes | None = None
    for name, value in raw:
        key = name.lower()
        if key == _SIGNATURE:
            return None
        if key == _AUTHORIZATION:
            if authorization is not None:
                return None  # sent twice: the identity check refuses it
            authorization = value
    if authorization is None:
        return None
    return api_keys.bearer_token(authorization.decode("latin-1"))


class ApiKeyDoor:
    """Exchanges a valid API key for a signed identity with the key's scope, before routing.

    Pure ASGI: a request without a key (nearly all of them) costs one pass over its headers.
    """

    def __init__(
        self, app: ASGIApp, *, verify: KeyVerifier, check: IdentityCheck, secret: str
    ) -> None:
        self.app = app
        self._verify = verify
        self._check = check
        self._secret = secret

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, signed if it came with a valid key; answer 401 or 503 if not."""
        token = _key_token(scope["headers"]) if scope["type"] == "http" else None
        if token is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        try:
            user = await self._verify(token)
        except AuthError as exc:
            await self._check.refuse(request, scheme="api_key", reason=exc.reason)
            refused = problem_response(
                request,
                status=401,
                code="not_authenticated",
                detail=f"authentication failed: {exc.reason}",
            )
            await refused(scope, receive, send)
            return
        except Exception as exc:
            if not database_outage(exc):
                raise
            log.warning("API key not checked: the database is unreachable (%s)", type(exc).__name__)
            unavailable = problem_response(
                request,
                status=503,
                code="database_unavailable",
                detail=f"the database is unreachable; try again in {RETRY_AFTER_S} s",
                headers={"Retry-After": str(RETRY_AFTER_S)},
            )
            await unavailable(scope, receive, send)
            return
        signed = signed_headers(
            self._secret,
            method=request.method,
            path=request.url.path,
            user_id=user.user_id,
            email=user.email,
            role=user.role,
            scope=user.scope,
        )
        headers = [(n, v) for n, v in scope["headers"] if n.lower() not in _REPLACED]
        headers += [
            (name.lower().encode(), value.encode("latin-1")) for name, value in signed.items()
        ]
        await self.app({**scope, "headers": headers}, receive, send)
