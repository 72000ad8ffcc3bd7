"""The gateway benchmark's load generator, run as its own process (``benchmarks/gateway.py``).

Closed loop over ``concurrency`` keep-alive HTTP/1.1 connections on raw asyncio streams (uvloop
when installed): each connection sends its next request as soon as the previous answer is read,
every request signed with fresh headers (``signed_headers``, as the BetterAuth proxy signs). A
warm-up runs first; only answers completed inside the measured window count. A raw client
rather than httpx because it shares the machine's cores with the server: every microsecond it
spends is one the server does not get.

Reads a ``LoadSpec`` as JSON on stdin, writes a ``LoadResult`` as JSON on stdout.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sds_common.auth import signed_headers

#: Answers are small JSON documents; a larger one is read all the same, only more slowly.
_MAX_HEAD = 64 * 1024


@dataclass(frozen=True)
class LoadSpec:
    """What to send, how hard, and for how long.

    Attributes:
        host: the server's address.
        port: its port.
        secret: the proxy secret the gateway trusts.
        user: (user id, email, role) the requests are signed as.
        method: the HTTP method.
        path: the request path (no query string).
        body: a JSON body, or None.
        expect: the status a successful answer has.
        concurrency: connections, each with one request in flight.
        warmup_s: seconds of load before the measured window.
        duration_s: seconds measured.
        server_pids: processes whose CPU time is measured over the window (same machine).
    """

    host: str
    port: int
    secret: str
    user: tuple[str, str, str]
    method: str
    path: str
    body: Any
    expect: int
    concurrency: int
    warmup_s: float
    duration_s: float
    server_pids: tuple[int, ...] = ()


@dataclass(frozen=True)
class LoadResult:
    """What the measured window saw.

    Attributes:
        requests: answers with the expected status completed in the window.
        errors: other answers and failed connections in the window.
        seconds: the window's length.
        per_second: ``requests / seconds``.
        p50_ms: median latency of the expected answers (send → whole answer read).
        p99_ms: 99th percentile.
        max_ms: slowest.
        statuses: count per status code in the window (0: connection failure).
        server_cpu_s: CPU seconds the server processes used in the window.
        client_cpu_s: CPU seconds this load generator used in the window.
    """

    requests: int
    errors: int
    seconds: float
    per_second: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    statuses: dict[str, int] = field(default_factory=dict)
    server_cpu_s: float = 0.0
    client_cpu_s: float = 0.0

    @property
    def answers(self) -> int:
        """Every answer in the window, expected or not."""
        return sum(self.statuses.values())


@dataclass
class _Window:
    start: float
    end: float
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)

    def record(self, *, status: int, started: float, finished: float, expect: int) -> None:
        if not self.start <= finished <= self.end:
            return
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if status == expect:
            self.latencies.append(finished - started)


def _request(spec: LoadSpec, body: bytes | None) -> bytes:
    headers = signed_headers(
        spec.secret,
        method=spec.method,
        path=spec.path,
        user_id=spec.user[0],
        email=spec.user[1],
        role=spec.user[2],
    )
    lines = [f"{spec.method} {spec.path} HTTP/1.1", f"Host: {spec.host}:{spec.port}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head + body if body is not None else head


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one whole answer; return its status and whether the server keeps the connection."""
    head = await reader.readuntil(b"\r\n\r\n")
    if len(head) > _MAX_HEAD:
        raise ValueError("answer head too large")
    status_line, _, rest = head.partition(b"\r\n")
    status = int(status_line.split(b" ", 2)[1])
    length, chunked, keep_alive = 0, False, True
    for line in rest.split(b"\r\n"):
        name, _, value = line.partition(b":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value:
            chunked = True
        elif name == b"connection" and value == b"close":
            keep_alive = False
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status, keep_alive


async def _connection(spec: LoadSpec, window: _Window, body: bytes | None) -> None:
    writer: asyncio.StreamWriter | None = None
    reader: asyncio.StreamReader | None = None
    while time.perf_counter() < window.end:
        if writer is None or reader is None:
            try:
                reader, writer = await asyncio.open_connection(spec.host, spec.port)
            except OSError:
                now = time.perf_counter()
                window.record(status=0, started=now, finished=now, expect=spec.expect)
                await asyncio.sleep(0.05)
                continue
        started = time.perf_counter()
        try:
            writer.write(_request(spec, body))
            status, keep_alive = await _read_answer(reader)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            status, keep_alive = 0, False
        window.record(
            status=status, started=started, finished=time.perf_counter(), expect=spec.expect
        )
        if not keep_alive:
            writer.close()
            writer = reader = None
    if writer is not None:
        writer.close()


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _cpu_over(window: _Window, pids: tuple[int, ...]) -> tuple[float, float]:
    """CPU seconds of ``pids`` and of this process between the window's start and end."""
    await asyncio.sleep(max(0.0, window.start - time.perf_counter()))
    server, client = sum(process_cpu_s(pid) for pid in pids), time.process_time()
    await asyncio.sleep(max(0.0, window.end - time.perf_counter()))
    return sum(process_cpu_s(pid) for pid in pids) - server, time.process_time() - client


def _percentile(ordered: list[float], fraction: float) -> float:
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index] * 1000


async def generate(spec: LoadSpec) -> LoadResult:
    """Put ``spec``'s load on the server; measure the window after the warm-up."""
    body = None if spec.body is None else json.dumps(spec.body).encode()
    start = time.perf_counter() + spec.warmup_s
    window = _Window(start=start, end=start + spec.duration_s)
    cpu = asyncio.ensure_future(_cpu_over(window, spec.server_pids))
    await asyncio.gather(*(_connection(spec, window, body) for _ in range(spec.concurrency)))
    server_cpu_s, client_cpu_s = await cpu
    ordered = sorted(window.latencies)
    errors = sum(n for status, n in window.statuses.items() if status != spec.expect)
    return LoadResult(
        requests=len(ordered),
        errors=errors,
        seconds=spec.duration_s,
        per_second=len(ordered) / spec.duration_s,
        p50_ms=_percentile(ordered, 0.50),
        p99_ms=_percentile(ordered, 0.99),
        max_ms=ordered[-1] * 1000 if ordered else float("nan"),
        statuses={str(status): n for status, n in sorted(window.statuses.items())},
        server_cpu_s=server_cpu_s,
        client_cpu_s=client_cpu_s,
    )


def main() -> None:
    """Read the spec from stdin, generate the load, print the result."""
    raw = json.loads(sys.stdin.read())
    raw["user"] = tuple(raw["user"])
    raw["server_pids"] = tuple(raw.get("server_pids", ()))
    spec = LoadSpec(**raw)
    try:
        import uvloop  # noqa: PLC0415
    except ImportError:
        result = asyncio.run(generate(spec))
    else:
        result = uvloop.run(generate(spec))
    sys.stdout.write(json.dumps(asdict(result)) + "\n")


if __name__ == "__main__":
    main()
