"""A streaming ``multipart/form-data`` reader: parts are handed over as their bytes arrive.

Starlette's form parser spools a whole file to a temporary file before the route runs; an upload
must instead flow straight into object storage with the size limit enforced on the way, so the
gateway reads the request body itself, part by part.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from sds_gateway.domain.errors import Invalid

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

MAX_FIELD_BYTES = 64 * 1024
MAX_PARTS = 32

_Event = tuple[str, bytes, bytes]


@dataclass(frozen=True, slots=True)
class Part:
    """One part's headers: its form field name, and for a file its name and media type."""

    name: str
    filename: str | None
    content_type: str | None


class MultipartReader:
    """Reads parts from a body. Call ``next_part`` then consume ``data()`` or ``text()``.

    Args:
        body: the request body in chunks.
        content_type: the request's ``Content-Type`` header (carries the boundary).

    Raises:
        Invalid: the body is not ``multipart/form-data`` or is malformed (on the call that reads
            the bad bytes).
    """

    def __init__(self, body: AsyncIterator[bytes], *, content_type: str) -> None:
        media, options = parse_options_header(content_type)
        boundary = options.get(b"boundary")
        if media != b"multipart/form-data" or not boundary:
            raise Invalid(
                "send the upload as multipart/form-data with a file field named 'file'",
                code="not_multipart",
            )
        self._body = body
        self._events: deque[_Event] = deque()
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._finished = False
        self._parts = 0
        self._in_part = False
        callbacks: MultipartCallbacks = {
            "on_part_begin": lambda: self._events.append(("begin", b"", b"")),
            "on_header_field": self._on_header_field,
            "on_header_value": self._on_header_value,
            "on_header_end": self._on_header_end,
            "on_headers_finished": lambda: self._events.append(("headers", b"", b"")),
            "on_part_data": self._on_data,
            "on_part_end": lambda: self._events.append(("end", b"", b"")),
            "on_end": lambda: self._events.append(("eof", b"", b"")),
        }
        self._parser = MultipartParser(boundary, callbacks)

    # -- parser callbacks -------------------------------------------------------------------

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _on_header_end(self) -> None:
        self._events.append(("header", bytes(self._header_field), bytes(self._header_value)))
        self._header_field.clear()
        self._header_value.clear()

    def _on_data(self, data: bytes, start: int, end: int) -> None:
        if end > start:
            self._events.append(("data", data[start:end], b""))

    # -- pulling events ---------------------------------------------------------------------

    async def _next_event(self) -> _Event:
        while not self._events:
            if self._finished:
                return ("eof", b"", b"")
            try:
                chunk = await anext(self._body)
            except StopAsyncIteration:
                self._finished = True
                self._parser.finalize()
                continue
            try:
                self._parser.write(chunk)
            except MultipartParseError as exc:
                raise Invalid(f"malformed multipart body: {exc}", code="bad_multipart") from None
        return self._events.popleft()

    async def next_part(self) -> Part | None:
        """Skip what is left of the current part and return the next one's headers (None: end)."""
        while True:
            kind, _, _ = await self._next_event()
            if kind == "eof":
                return None
            if kind == "begin":
                break
        self._parts += 1
        if self._parts > MAX_PARTS:
            raise Invalid(f"too many form fields (at most {MAX_PARTS})", code="bad_multipart")
        # Raw bytes: the parser reads them as latin-1 (one byte, one character), so a UTF-8
        # field or file name survives it and is decoded below (a str with wider characters
        # would make it fail).
        headers: dict[str, bytes] = {}
        while True:
            kind, field, value = await self._next_event()
            if kind == "header":
                headers[field.decode("latin-1").lower()] = value
            elif kind == "headers":
                break
            elif kind == "eof":
                raise Invalid("truncated multipart body", code="bad_multipart")
        _, options = parse_options_header(headers.get("content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        raw_filename = options.get(b"filename")
        content_type = headers.get("content-type")
        self._in_part = True
        return Part(
            name=name,
            filename=raw_filename.decode("utf-8", "replace") if raw_filename is not None else None,
            content_type=content_type.decode("utf-8", "replace")
            if content_type is not None
            else None,
        )

    async def data(self) -> AsyncIterator[bytes]:
        """Yield the current part's bytes as they arrive."""
        while self._in_part:
            kind, chunk, _ = await self._next_event()
            if kind == "data":
                yield chunk
            elif kind in ("end", "eof"):
                self._in_part = False

    async def text(self, *, max_bytes: int = MAX_FIELD_BYTES) -> str:
        """Return the current part as text (a plain form field)."""
        collected = bytearray()
        async for chunk in self.data():
            collected += chunk
            if len(collected) > max_bytes:
                raise Invalid(f"form field longer than {max_bytes} bytes", code="bad_multipart")
        return collected.decode("utf-8", "replace")
