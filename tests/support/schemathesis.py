"""Schemathesis over a service's own OpenAPI document, run in-process and signed per request.

A service runs on an event loop of its own thread (``LoopThread``); schemathesis sends each
generated request through a ``requests`` adapter that signs it as one user and hands it to the
app through ``httpx.ASGITransport`` (``SigningAdapter``). ``load_schema`` swaps path, query and
body ids for seeded ones in a deterministic half of the cases, so the checks reach the code
behind existing resources, not only the 404s. Generation is derandomized: a run is repeatable.
"""

from __future__ import annotations

import asyncio
import io
import threading
import time
import zlib
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from concurrent.futures import Future
from datetime import timedelta
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import httpx
import pytest
import requests
import schemathesis
import urllib3
from requests.adapters import HTTPAdapter
from schemathesis.specs.openapi.schemas import OpenApiSchema
from urllib3._collections import HTTPHeaderDict

from sds_common.auth import signed_headers

T = TypeVar("T")

SEED = 20240601
#: Examples per operation in the fuzzing phase (valid and invalid ones), scenarios and their
#: length in the stateful phase: with the examples and coverage phases, about a minute of CPU.
MAX_EXAMPLES = 8
STATEFUL_STEPS = 6
#: An event stream (a job that is not final yet) is cut after this long, as a client would.
STREAM_CUT_S = 0.2


class LoopThread:
    """An event loop in a thread of its own: the gateway lives there, tests call into it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T], *, timeout_s: float = 60.0) -> T:
        """Run ``coroutine`` on the loop and wait for its result."""
        future: Future[T] = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        return future.result(timeout=timeout_s)

    def close(self) -> None:
        """Stop the loop and its thread."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


def cut_event_streams(app: Callable[..., Awaitable[None]], *, after_s: float) -> Any:
    """Wrap an ASGI app so an event stream ends ``after_s`` after it started, like a client
    that stops listening (``httpx.ASGITransport`` would otherwise wait for the job to finish)."""

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        streaming = asyncio.Event()
        finished = False

        async def watch(message: Any) -> None:
            nonlocal finished
            if finished:
                return
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers", ()))
                if headers.get(b"content-type", b"").startswith(b"text/event-stream"):
                    streaming.set()
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                finished = True
            await send(message)

        task = asyncio.ensure_future(app(scope, receive, watch))
        waiter = asyncio.ensure_future(streaming.wait())
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            waiter.cancel()
            task.result()
            return
        done, _ = await asyncio.wait({task}, timeout=after_s)
        if done:
            task.result()
            return
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        if not finished:
            finished = True
            await send({"type": "http.response.body", "body": b"", "more_body": False})

    return wrapped


def signed_path(url: str) -> str:
    """The path as the gateway reads it (``request.url.path``): percent-decoded, with the three
    characters a URL cannot hold in its path escaped again, as Starlette does."""
    path = unquote(urlsplit(url).path)
    return path.replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")


class SigningAdapter(HTTPAdapter):
    """A ``requests`` adapter that signs each request as ``user`` and hands it to the in-process
    gateway through ``httpx.ASGITransport``."""

    def __init__(
        self,
        *,
        runner: LoopThread,
        client: httpx.AsyncClient,
        user: tuple[str, str, str],
        secret: str,
    ) -> None:
        super().__init__()
        self.runner = runner
        self.client = client
        self.user = user
        self.secret = secret

    def send(
        self, request: requests.PreparedRequest, *_args: Any, **_kwargs: Any
    ) -> requests.Response:
        """Sign, send in-process and convert the answer."""
        url = str(request.url)
        method = str(request.method)
        headers = {
            name: value.decode("latin-1") if isinstance(value, bytes) else value
            for name, value in request.headers.items()
        }
        headers.update(
            signed_headers(
                self.secret,
                method=method,
                path=signed_path(url),
                user_id=self.user[0],
                email=self.user[1],
                role=self.user[2],
            )
        )
        body = request.body
        if not isinstance(body, str | bytes | None):
            raise TypeError(f"streamed request bodies are not supported here: {type(body)}")
        content = body.encode() if isinstance(body, str) else body
        started = time.perf_counter()
        answer = self.runner.run(self.client.request(method, url, headers=headers, content=content))
        raw = urllib3.HTTPResponse(
            body=io.BytesIO(answer.content),
            headers=HTTPHeaderDict(answer.headers.multi_items()),
            status=answer.status_code,
            reason=answer.reason_phrase,
            version=11,
            preload_content=False,
        )
        response = self.build_response(request, raw)
        response.elapsed = timedelta(seconds=time.perf_counter() - started)
        return response


def _swap(value: object, *, salt: str) -> bool:
    """Deterministically pick about half of the generated values to replace with seeded ids."""
    return zlib.crc32(f"{salt}:{value!r}".encode()) % 2 == 0


def load_schema(
    document: dict[str, Any], *, base_url: str, ids: Mapping[str, str]
) -> OpenApiSchema:
    """The schema of ``document``, its generated ids swapped for ``ids`` (by parameter name) in a
    deterministic half of the cases."""
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "database": "none"},
            # A valid request for an id that does not exist rightly answers 404.
            "checks": {"positive_data_acceptance": {"enabled": False}},
            "phases": {
                # Every boundary value of every valid input; invalid inputs come from fuzzing.
                "coverage": {"generation": {"mode": "positive"}},
                "stateful": {"max-steps": STATEFUL_STEPS},
            },
        }
    )
    schema = schemathesis.openapi.from_dict(document, config=config)
    schema.config.base_url = base_url

    def swap_ids(container: dict[str, Any] | None) -> dict[str, Any] | None:
        if not isinstance(container, dict):
            return container
        for name, seeded_id in ids.items():
            if name in container and _swap(container[name], salt=name):
                container[name] = seeded_id
        return container

    @schema.hook
    def map_path_parameters(
        _ctx: schemathesis.HookContext, path_parameters: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        return swap_ids(path_parameters)

    @schema.hook
    def map_query(
        _ctx: schemathesis.HookContext, query: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        return swap_ids(query)

    @schema.hook
    def map_body(_ctx: schemathesis.HookContext, body: Any) -> Any:
        return swap_ids(body) if isinstance(body, dict) else body

    return schema


def signing_session(
    runner: LoopThread,
    app: Callable[..., Awaitable[None]],
    *,
    base_url: str,
    user: tuple[str, str, str],
    secret: str,
) -> tuple[requests.Session, httpx.AsyncClient]:
    """A session whose requests reach ``app`` signed as ``user`` (close the client after)."""
    transport = httpx.ASGITransport(app=cut_event_streams(app, after_s=STREAM_CUT_S))
    client = httpx.AsyncClient(transport=transport, base_url=base_url)
    session = requests.Session()
    session.mount(base_url, SigningAdapter(runner=runner, client=client, user=user, secret=secret))
    return session, client


@pytest.fixture(autouse=True)
def node_id_for_schemathesis(request: pytest.FixtureRequest) -> None:
    """Schemathesis' fixture-backed schema names each operation's subtest through the item's
    private ``_nodeid``, which pytest 9 no longer has; give it the public one (import this
    fixture into a test module that runs a schema)."""
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid
