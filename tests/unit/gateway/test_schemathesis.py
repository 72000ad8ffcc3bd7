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

import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import hypothesis
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import requests
import schemathesis
from schemathesis.specs.openapi.schemas import OpenApiSchema

from sds_common.events import EvaluationCompleted, ModelTrained, SyntheticDataGenerated
from tests.support.schemathesis import (
    STATEFUL_STEPS,
    LoopThread,
    load_schema,
    node_id_for_schemathesis,
    signing_session,
)
from tests.unit.gateway.harness import ALICE, SECRETS, Harness, running_gateway

__all__ = ["node_id_for_schemathesis"]  # an autouse fixture: imported to be used here

BASE_URL = "http://gateway"
STATEFUL_EXAMPLES = 5


# ------------------------------------------------------------------------------ the gateway


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
        session, client = signing_session(
            runner, gw.app, base_url=BASE_URL, user=ALICE, secret=SECRETS[0]
        )
        ids = {
            "project_id": seeded.project_id,
            "dataset_id": seeded.dataset_id,
            "generator_id": seeded.generator_id,
            "synthetic_id": seeded.synthetic_id,
            "synthetic_dataset_id": seeded.synthetic_id,
            "evaluation_id": seeded.evaluation_id,
            "job_id": seeded.dataset_id,  # a dataset's job has the dataset's id
        }
        schema = load_schema(gw.app.openapi(), base_url=BASE_URL, ids=ids)
        yield Gateway(session=session, seeded=seeded, schema=schema)
        runner.run(client.aclose())
    finally:
        runner.run(stack.__aexit__(None, None, None))
        runner.close()


# ------------------------------------------------------------------------------ the schema


api = schemathesis.pytest.from_fixture("api_schema")


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
