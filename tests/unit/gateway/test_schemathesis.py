"""Schemathesis over the gateway's OpenAPI document: no 5xx, no answer outside the contract.

The gateway runs in-process (its real bootstrap, in-process bus, SQLite, a tmp folder) on an
event loop of its own thread; every generated request goes through ``httpx.ASGITransport`` to
it, signed per request with ``signed_headers`` as a project owner. The project is seeded with
one resource of every kind (a ready dataset, a trained generator, generated synthetic data with
its evaluation and report), and path, query and body ids are swapped for the seeded ones in a
deterministic part of the cases, so the checks reach the code behind an existing resource, not
only the 404s.

One subtest per operation runs the examples, coverage (valid inputs) and fuzzing (valid and
invalid inputs) phases; a second test runs the stateful phase along the links schemathesis infers
from the document (several hundred: every id a response carries, fed to the operations that take
it). Checks: every built-in one that applies (``not_a_server_error``, status codes, content types,
response headers and schemas, negative-data rejection, unsupported methods, and in the stateful
phase ``use_after_free`` and ``ensure_resource_availability``). ``positive_data_acceptance`` is
off: a valid request for an id that does not exist rightly answers 404. Generation is
derandomized, so a run is repeatable.
"""

from __future__ import annotations

import asyncio
import io
import threading
import time
import uuid
import zlib
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import httpx
import hypothesis
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import requests
import schemathesis
import urllib3
from requests.adapters import HTTPAdapter
from schemathesis.specs.openapi.schemas import OpenApiSchema
from urllib3._collections import HTTPHeaderDict

from sds_common.auth import signed_headers
from sds_common.events import EvaluationCompleted, ModelTrained, SyntheticDataGenerated
from tests.unit.gateway.harness import ALICE, SECRETS, Harness, running_gateway

T = TypeVar("T")

BASE_URL = "http://gateway"
SEED = 20240601
#: Examples per operation in the fuzzing phase (valid and invalid ones), scenarios and their
#: length in the stateful phase: with the examples and coverage phases, about a minute of CPU.
MAX_EXAMPLES = 8
STATEFUL_EXAMPLES = 5
STATEFUL_STEPS = 6
#: An event stream (a job that is not final yet) is cut after this long, as a client would.
STREAM_CUT_S = 0.2


# ------------------------------------------------------------------------------ the gateway


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


@dataclass(frozen=True)
class Seeded:
    """Ids of the resources every kind of path parameter can point at (all Alice's)."""

    project_id: str
    dataset_id: str
    generator_id: str
    synthetic_id: str
    evaluation_id: str


async def _seed(gw: Harness) -> Seeded:
    project_id = await gw.create_project("seeded")
    dataset_id = await gw.ready_dataset(project_id)
    created = await gw.call(
        "POST",
        "/api/v1/generators",
        json={"dataset_id": dataset_id, "privacy": {"epsilon": 1.0, "delta": 1e-6}},
    )
    assert created.status_code == 202, created.text
    generator_id = created.json()["id"]
    await gw.publish(
        ModelTrained(
            generator_id=uuid.UUID(generator_id),
            dataset_id=uuid.UUID(dataset_id),
            model_key=f"models/{generator_id}/model.pt",
            method="dp-ctgan",
            epsilon=0.9,
            delta=1e-6,
            epochs=1,
            duration_s=0.5,
        ),
        project_id=project_id,
    )
    await gw.until_status(f"/api/v1/generators/{generator_id}", "succeeded")
    sampled = await gw.call("POST", f"/api/v1/generators/{generator_id}/samples", json={})
    assert sampled.status_code == 202, sampled.text
    synthetic = sampled.json()
    sink = io.BytesIO()
    pq.write_table(pa.table({"a": [1, 3], "b": [2, 4]}), sink)
    key = f"synthetic/{synthetic['id']}/data.parquet"
    await gw.storage.put_bytes(key, sink.getvalue())
    await gw.publish(
        SyntheticDataGenerated(
            generator_id=uuid.UUID(generator_id),
            synthetic_dataset_id=uuid.UUID(synthetic["id"]),
            dataset_id=uuid.UUID(dataset_id),
            object_key=key,
            rows=2,
        ),
        project_id=project_id,
    )
    await gw.until_status(f"/api/v1/synthetic-datasets/{synthetic['id']}", "succeeded")
    evaluation_id = synthetic["evaluation_id"]
    await gw.storage.put_bytes(f"reports/{evaluation_id}.html", b"<h1>report</h1>")
    await gw.publish(
        EvaluationCompleted(
            evaluation_id=uuid.UUID(evaluation_id),
            synthetic_dataset_id=uuid.UUID(synthetic["id"]),
            generator_id=uuid.UUID(generator_id),
            scores={"fidelity": 0.9},
            report_key=f"reports/{evaluation_id}.json",
            html_report_key=f"reports/{evaluation_id}.html",
        ),
        project_id=project_id,
    )
    await gw.until_status(f"/api/v1/evaluations/{evaluation_id}", "succeeded")
    return Seeded(
        project_id=project_id,
        dataset_id=dataset_id,
        generator_id=generator_id,
        synthetic_id=synthetic["id"],
        evaluation_id=evaluation_id,
    )


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
        self, *, runner: LoopThread, client: httpx.AsyncClient, user: tuple[str, str, str]
    ) -> None:
        super().__init__()
        self.runner = runner
        self.client = client
        self.user = user

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
                SECRETS[0],
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


@dataclass
class Gateway:
    """The running gateway, its seeded ids and a session that signs as the owner."""

    session: requests.Session
    seeded: Seeded
    schema: OpenApiSchema


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    runner = LoopThread()
    # Commits wake the relay and the SSE streams; slow fallback polls keep the CPU on requests.
    # The owner sends every request: a per-user limit would answer most of them 429.
    stack = running_gateway(
        tmp_path_factory.mktemp("schemathesis"),
        rate_limit_per_user=1_000_000,
        outbox_poll_interval_ms=500,
        sse_heartbeat_s=0.05,
        sse_poll_interval_s=0.5,
    )
    gw = runner.run(stack.__aenter__())
    try:
        seeded = runner.run(_seed(gw))
        transport = httpx.ASGITransport(app=cut_event_streams(gw.app, after_s=STREAM_CUT_S))
        client = httpx.AsyncClient(transport=transport, base_url=BASE_URL)
        session = requests.Session()
        session.mount(BASE_URL, SigningAdapter(runner=runner, client=client, user=ALICE))
        schema = _load_schema(gw.app.openapi(), seeded)
        yield Gateway(session=session, seeded=seeded, schema=schema)
        runner.run(client.aclose())
    finally:
        runner.run(stack.__aexit__(None, None, None))
        runner.close()


# ------------------------------------------------------------------------------ the schema


def _swap(value: object, *, salt: str) -> bool:
    """Deterministically pick about half of the generated values to replace with seeded ids."""
    return zlib.crc32(f"{salt}:{value!r}".encode()) % 2 == 0


def _load_schema(document: dict[str, Any], seeded: Seeded) -> OpenApiSchema:
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
    schema.config.base_url = BASE_URL
    ids = {
        "project_id": seeded.project_id,
        "dataset_id": seeded.dataset_id,
        "generator_id": seeded.generator_id,
        "synthetic_id": seeded.synthetic_id,
        "synthetic_dataset_id": seeded.synthetic_id,
        "evaluation_id": seeded.evaluation_id,
        "job_id": seeded.dataset_id,  # a dataset's job has the dataset's id
    }

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


api = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request: pytest.FixtureRequest) -> None:
    # Schemathesis' fixture-backed schema names each operation's subtest through the item's
    # private ``_nodeid``, which pytest 9 no longer has; give it the public one.
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


@pytest.fixture(scope="module")
def api_schema(gateway: Gateway) -> OpenApiSchema:
    return gateway.schema


# Health checks off: a slow answer on a busy machine is not a finding, and the checks above are.
@api.parametrize()
@hypothesis.settings(
    derandomize=True,
    deadline=None,
    suppress_health_check=list(hypothesis.HealthCheck),
    database=None,
)
def test_every_operation_keeps_its_contract(case: schemathesis.Case, gateway: Gateway) -> None:
    """Examples, coverage and fuzzing phases: one subtest per operation of the document."""
    case.call_and_validate(session=gateway.session, base_url=BASE_URL)


def test_stateful_links_keep_the_contract(gateway: Gateway) -> None:
    """Sequences along the links schemathesis infers between operations (ids of created
    resources fed to the operations that take them), with the same checks."""
    machine = gateway.schema.as_state_machine()
    session = gateway.session

    class Machine(machine):  # type: ignore[misc,valid-type]
        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"session": session, "base_url": BASE_URL}

    Machine.run(
        settings=hypothesis.settings(
            max_examples=STATEFUL_EXAMPLES,
            derandomize=True,
            deadline=None,
            suppress_health_check=list(hypothesis.HealthCheck),
            database=None,
            stateful_step_count=STATEFUL_STEPS,
        )
    )
