"""Calling an ASGI app directly, to watch a streamed answer arrive chunk by chunk.

``httpx.ASGITransport`` returns a response only once the app has finished, so it cannot tell a
streamed answer from a buffered one. ``AsgiStream`` runs the app in a task and hands out each
``http.response.body`` message as the app sends it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

from starlette.types import ASGIApp, Message


class AsgiStream:
    """One request to ``app``; read ``status``/``headers`` after ``start()``, then ``chunk()``."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        method: str,
        path: str,
        headers: Mapping[str, str],
        body: bytes = b"",
    ) -> None:
        self._app = app
        self._scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]
            + [(b"host", b"testserver"), (b"content-length", str(len(body)).encode())],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
        }
        self._body = body
        self._body_sent = False
        self._sent: asyncio.Queue[Message] = asyncio.Queue()
        self._disconnect = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.status = 0
        self.headers: dict[str, str] = {}
        self.finished = False

    async def _receive(self) -> Message:
        if not self._body_sent:
            self._body_sent = True
            return {"type": "http.request", "body": self._body, "more_body": False}
        await self._disconnect.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: Message) -> None:
        await self._sent.put(message)

    async def start(self, *, timeout_s: float = 10.0) -> None:
        """Send the request and wait for the status line."""

        async def run() -> None:
            await self._app(self._scope, self._receive, self._send)

        self._task = asyncio.create_task(run())
        async with asyncio.timeout(timeout_s):
            message = await self._sent.get()
        assert message["type"] == "http.response.start", message
        self.status = int(message["status"])
        self.headers = {k.decode().lower(): v.decode() for k, v in message.get("headers", [])}

    async def chunk(self, *, timeout_s: float = 10.0) -> bytes:
        """The next non-empty body chunk, as soon as the app sends it (b"" at the end)."""
        async with asyncio.timeout(timeout_s):
            while not self.finished:
                message = await self._sent.get()
                self.finished = not message.get("more_body", False)
                if message.get("body"):
                    return bytes(message["body"])
        return b""

    async def rest(self, *, timeout_s: float = 10.0) -> bytes:
        """Everything until the end of the answer."""
        parts = []
        while not self.finished:
            parts.append(await self.chunk(timeout_s=timeout_s))
        return b"".join(parts)

    async def close(self) -> None:
        """Disconnect and wait for the app to return."""
        self._disconnect.set()
        if self._task is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(5):
                    await self._task
