"""The base service app (/health, /ready, /metrics, request telemetry) and graceful serving."""

from __future__ import annotations

import asyncio
import io
import logging
import signal
import socket
import sys
import textwrap
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import orjson
import pytest
from asgi_lifespan import LifespanManager
from fastapi import APIRouter, FastAPI, HTTPException
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from sds_common.runtime import ReadyCheck, create_service_app, serve
from sds_common.settings import Settings
from sds_common.telemetry import Metrics, configure_logging, configure_tracing

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def _module_spans() -> InMemorySpanExporter:
    provider = configure_tracing(Settings(service_name="test", otel_exporter="none"))
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


@pytest.fixture
def spans(_module_spans: InMemorySpanExporter) -> InMemorySpanExporter:
    _module_spans.clear()
    return _module_spans


async def _ok() -> None:
    return None


async def _refuses() -> None:
    raise ConnectionRefusedError("cannot reach postgresql://sds:hunter2@db:5432/sds")


async def _hangs() -> None:
    await asyncio.sleep(10)


def _router() -> APIRouter:
    router = APIRouter()

    @router.get("/items/{item_id}")
    async def get_item(item_id: int) -> dict[str, int]:
        logging.getLogger("sds.test.route").info("serving item", extra={"item_id": item_id})
        return {"id": item_id}

    @router.get("/broken")
    async def broken() -> None:
        raise RuntimeError("bug")

    @router.get("/forbidden")
    async def forbidden() -> None:
        raise HTTPException(status_code=403)

    return router


def _app(*, metrics: Metrics, ready_checks: dict[str, ReadyCheck] | None = None) -> FastAPI:
    app = create_service_app(
        name="svc",
        metrics=metrics,
        ready_checks=ready_checks or {"db": _ok, "bus": _ok},
        ready_timeout_s=0.2,
    )
    app.include_router(_router(), prefix="/api/v1")
    return app


@asynccontextmanager
async def _client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60) as manager:
        transport = httpx.ASGITransport(app=manager.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
            yield client


async def test_health() -> None:
    async with _client(_app(metrics=Metrics())) as client:
        response = await client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "service": "svc"}


async def test_ready_when_every_check_passes() -> None:
    async with _client(_app(metrics=Metrics())) as client:
        response = await client.get("/ready")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "service": "svc",
        "checks": {"db": {"status": "ok"}, "bus": {"status": "ok"}},
    }


async def test_ready_names_the_failing_checks_without_leaking_details() -> None:
    app = _app(metrics=Metrics(), ready_checks={"db": _refuses, "bus": _ok, "storage": _hangs})
    async with _client(app) as client:
        response = await client.get("/ready")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["failing"] == ["db", "storage"]
    assert body["checks"]["db"] == {"status": "error", "error": "ConnectionRefusedError"}
    assert body["checks"]["storage"] == {"status": "error", "error": "timed out after 0.2s"}
    assert body["checks"]["bus"] == {"status": "ok"}
    assert "hunter2" not in response.text
    assert "postgresql" not in response.text


async def test_lifespan_can_add_ready_checks_and_runs_on_both_ends() -> None:
    calls: list[str] = []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        calls.append("start")
        app.state.ready_checks["late"] = _refuses
        yield
        calls.append("stop")

    app = create_service_app(name="svc", metrics=Metrics(), ready_checks={}, lifespan=lifespan)
    async with _client(app) as client:
        response = await client.get("/ready")

    assert response.status_code == 503
    assert response.json()["failing"] == ["late"]
    assert calls == ["start", "stop"]


async def test_metrics_count_requests_by_route_template() -> None:
    metrics = Metrics()
    async with _client(_app(metrics=metrics)) as client:
        assert (await client.get("/api/v1/items/42")).status_code == 200
        assert (await client.get("/api/v1/items/43")).status_code == 200
        assert (await client.get("/api/v1/broken")).status_code == 500
        assert (await client.get("/api/v1/forbidden")).status_code == 403
        assert (await client.get("/no/such/path")).status_code == 404
        response = await client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'http_requests_total{method="GET",route="/api/v1/items/{item_id}",status="200"} 2.0' in (
        text
    )
    assert 'http_requests_total{method="GET",route="/api/v1/broken",status="500"} 1.0' in text
    assert 'http_requests_total{method="GET",route="/api/v1/forbidden",status="403"} 1.0' in text
    assert 'http_requests_total{method="GET",route="unmatched",status="404"} 1.0' in text
    assert 'http_request_seconds_count{method="GET",route="/api/v1/items/{item_id}"} 2.0' in text
    assert "/items/42" not in text
    assert "process_cpu_seconds_total" in text


async def test_routes_of_a_mounted_app_keep_their_template() -> None:
    metrics = Metrics()
    app = create_service_app(name="svc", metrics=metrics, ready_checks={})
    inner = FastAPI()
    inner.include_router(_router())
    app.mount("/inner", inner)
    async with _client(app) as client:
        assert (await client.get("/inner/items/7")).status_code == 200
        text = (await client.get("/metrics")).text

    assert 'route="/inner/items/{item_id}",status="200"' in text


async def test_each_request_gets_a_server_span_continuing_the_caller_trace(
    spans: InMemorySpanExporter,
) -> None:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    buffer = io.StringIO()
    configure_logging(Settings(service_name="svc"), stream=buffer)
    caller_trace = "0af7651916cd43dd8448eb211c80319c"
    try:
        async with _client(_app(metrics=Metrics())) as client:
            response = await client.get(
                "/api/v1/items/5",
                headers={"traceparent": f"00-{caller_trace}-b7ad6b7169203331-01"},
            )
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)

    assert response.status_code == 200
    [span] = [s for s in spans.get_finished_spans() if s.kind is SpanKind.SERVER]
    assert span.name == "GET /api/v1/items/{item_id}"
    assert format(span.context.trace_id, "032x") == caller_trace
    assert span.parent is not None
    assert span.parent.span_id == 0xB7AD6B7169203331
    assert span.attributes is not None
    assert span.attributes["http.route"] == "/api/v1/items/{item_id}"
    assert span.attributes["http.response.status_code"] == 200
    lines = [orjson.loads(line) for line in buffer.getvalue().splitlines()]
    route_line = next(line for line in lines if line["message"] == "serving item")
    assert route_line["trace_id"] == caller_trace
    assert route_line["item_id"] == 5
    access_line = next(line for line in lines if line.get("http_route"))
    assert access_line["http_status"] == 200


# --- serving ---------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _wait_until_up(client: httpx.AsyncClient, url: str) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            if (await client.get(url)).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.05)
    raise AssertionError(f"{url} never answered")


def _slow_app(events: list[str]) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        events.append("lifespan shutdown")

    app = create_service_app(name="slow", metrics=Metrics(), ready_checks={}, lifespan=lifespan)

    @app.get("/slow")
    async def slow() -> dict[str, str]:
        await asyncio.sleep(0.5)
        events.append("slow finished")
        return {"done": "yes"}

    return app


async def test_serve_finishes_in_flight_requests_when_shutdown_is_requested() -> None:
    events: list[str] = []
    port = _free_port()
    stop = asyncio.Event()
    server = asyncio.create_task(
        serve(
            _slow_app(events),
            Settings(http_port=port, log_level="WARNING"),
            grace_period_s=5,
            shutdown_event=stop,
            handle_signals=False,
        )
    )
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(timeout=5) as client:
        await _wait_until_up(client, f"{base}/health")
        request = asyncio.create_task(client.get(f"{base}/slow"))
        await asyncio.sleep(0.15)
        stop.set()
        response = await request

    await asyncio.wait_for(server, timeout=5)
    assert response.status_code == 200
    assert response.json() == {"done": "yes"}
    assert events == ["slow finished", "lifespan shutdown"]


async def test_serve_raises_when_the_port_is_taken() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(RuntimeError, match="could not start"):
            await serve(
                _slow_app([]),
                Settings(http_port=port, log_level="CRITICAL"),
                handle_signals=False,
            )


_SERVER_SCRIPT = """
import asyncio, sys
from contextlib import asynccontextmanager
from fastapi import FastAPI
from sds_common.runtime import create_service_app, run
from sds_common.settings import Settings
from sds_common.telemetry import Metrics, configure_logging

settings = Settings(service_name="slow", http_port=int(sys.argv[1]))
configure_logging(settings)

@asynccontextmanager
async def lifespan(_):
    yield
    print("lifespan shutdown", flush=True)

app = create_service_app(name="slow", metrics=Metrics(), ready_checks={}, lifespan=lifespan)

@app.get("/slow")
async def slow():
    await asyncio.sleep(0.5)
    print("slow finished", flush=True)
    return {"done": "yes"}

run(app, settings, grace_period_s=5)
print("exited cleanly", flush=True)
"""


@pytest.fixture
def server_script(tmp_path: Path) -> Path:
    path = tmp_path / "server.py"
    path.write_text(textwrap.dedent(_SERVER_SCRIPT))
    return path


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_signal_shuts_the_process_down_gracefully(
    server_script: Path, sig: signal.Signals
) -> None:
    port = _free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(server_script),
        str(port),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            await _wait_until_up(client, f"{base}/health")
            request = asyncio.create_task(client.get(f"{base}/slow"))
            await asyncio.sleep(0.15)
            process.send_signal(sig)
            response = await request
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=10)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

    assert response.status_code == 200
    assert process.returncode == 0, stderr.decode()
    assert stdout.decode().splitlines() == ["slow finished", "lifespan shutdown", "exited cleanly"]
    log_messages = [orjson.loads(line)["message"] for line in stderr.decode().splitlines()]
    assert any(message.startswith("received") for message in log_messages)
