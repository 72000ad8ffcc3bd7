"""A size limit on request bodies, so a JSON route cannot be made to buffer gigabytes.

Uploads have their own, larger limit (``SDS_MAX_UPLOAD_BYTES``, enforced while the file streams
to storage) and are exempt here. A declared ``Content-Length`` above the limit is refused before
the app runs; a body that grows past it while streaming (chunked, or a lying header) is cut off
and the answer replaced by the same ``413`` problem.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import TYPE_CHECKING, Final

from starlette.exceptions import HTTPException

from sds_gateway.entrypoints.problems import PROBLEM_BASE, PROBLEM_MEDIA_TYPE

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

CODE: Final = "request_too_large"


def _problem(path: str, limit: int) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    body = json.dumps(
        {
            "type": PROBLEM_BASE + CODE,
            "title": "Content Too Large",
            "status": 413,
            "detail": f"the request body is larger than the limit of {limit} bytes",
            "code": CODE,
            "instance": path,
        }
    ).encode()
    headers = [
        (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    return body, headers


class BodyLimitMiddleware:
    """Refuses request bodies over ``max_bytes`` with a ``413`` problem (pure ASGI).

    Args:
        app: the wrapped app.
        max_bytes: the largest accepted body.
        exempt: ``(METHOD, path)`` pairs with a limit of their own (the upload route).
    """

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, exempt: Collection[tuple[str, str]] = ()
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.exempt = frozenset((method.upper(), path.rstrip("/")) for method, path in exempt)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        if (str(scope.get("method", "")).upper(), path.rstrip("/")) in self.exempt:
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await self._refuse(send, path)
                return
        received = 0
        exceeded = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    # FastAPI passes an HTTPException through its body parsing unchanged.
                    raise HTTPException(status_code=413)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded:
                # Whatever the app answers to the cut-off body becomes the 413 problem.
                if message["type"] == "http.response.start" and not started:
                    started = True
                    await self._refuse(send, path)
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except HTTPException:
            if not exceeded or started:
                raise
            await self._refuse(send, path)

    async def _refuse(self, send: Send, path: str) -> None:
        body, headers = _problem(path, self.max_bytes)
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
