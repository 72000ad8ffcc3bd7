"""Schemathesis over the llm service's own OpenAPI document: no 5xx, no answer outside it.

The llm service runs in-process through its real bootstrap (in-process bus, SQLite, a tmp folder,
a recording provider) with a profiled dataset and a completed evaluation of one project; every
generated request is signed as that project's owner (``tests.support.schemathesis``), and
dataset and evaluation ids are swapped for the seeded ones in a deterministic half of the cases
(path and body). Checks: every built-in one that applies; ``positive_data_acceptance`` is off
(an unknown subject rightly 404s).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import hypothesis
import pytest
import requests
import schemathesis
from schemathesis.specs.openapi.schemas import OpenApiSchema

from tests.support.schemathesis import (
    LoopThread,
    load_schema,
    node_id_for_schemathesis,
    signing_session,
)
from tests.unit.llm.conftest import ALICE, SECRET, running_llm, seed

__all__ = ["node_id_for_schemathesis"]  # an autouse fixture: imported to be used here

BASE_URL = "http://llm"


@dataclass
class Llm:
    session: requests.Session
    schema: OpenApiSchema


@pytest.fixture(scope="module")
def llm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Llm]:
    runner = LoopThread()
    # Alice sends every request: a per-user limit would answer most of them 429.
    stack = running_llm(tmp_path_factory.mktemp("schemathesis"), rate_limit_per_user=1_000_000)
    running = runner.run(stack.__aenter__())
    try:
        dataset_id, evaluation_id = runner.run(seed(running))
        session, client = signing_session(
            runner, running.app, base_url=BASE_URL, user=ALICE, secret=SECRET
        )
        ids = {"dataset_id": str(dataset_id), "evaluation_id": str(evaluation_id)}
        schema = load_schema(running.app.openapi(), base_url=BASE_URL, ids=ids)
        yield Llm(session=session, schema=schema)
        runner.run(client.aclose())
    finally:
        runner.run(stack.__aexit__(None, None, None))
        runner.close()


api = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture(scope="module")
def api_schema(llm: Llm) -> OpenApiSchema:
    return llm.schema


# Health checks off: a slow answer on a busy machine is not a finding, and the checks are.
@api.parametrize()
@hypothesis.settings(
    derandomize=True,
    deadline=None,
    suppress_health_check=list(hypothesis.HealthCheck),
    database=None,
)
def test_every_operation_keeps_its_contract(case: schemathesis.Case, llm: Llm) -> None:
    """Examples, coverage and fuzzing phases: one subtest per operation of the document."""
    case.call_and_validate(session=llm.session, base_url=BASE_URL)
