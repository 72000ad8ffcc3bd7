"""Schemathesis over the audit service's own OpenAPI document: no 5xx, no answer outside it.

The audit service runs in-process through its real bootstrap (in-process bus, SQLite, a tmp
folder) with one generator's life in its log; every generated request is signed as an admin
(``tests.support.schemathesis``), and generator and project ids are swapped for the logged ones
in a deterministic half of the cases. Checks: every built-in one that applies (no server error,
documented status codes, content types and headers, response schemas, negative-data rejection,
unsupported methods); ``positive_data_acceptance`` is off (an unknown generator rightly 404s).
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
from tests.unit.audit.flow import PROJECT, G
from tests.unit.audit.harness import ADMIN, SECRET, deliver_flow, running_audit

__all__ = ["node_id_for_schemathesis"]  # an autouse fixture: imported to be used here

BASE_URL = "http://audit"


@dataclass
class Audit:
    session: requests.Session
    schema: OpenApiSchema


@pytest.fixture(scope="module")
def audit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Audit]:
    runner = LoopThread()
    # The admin sends every request: a per-user limit would answer most of them 429.
    stack = running_audit(tmp_path_factory.mktemp("schemathesis"), rate_limit_per_user=1_000_000)
    running = runner.run(stack.__aenter__())
    try:
        runner.run(deliver_flow(running))
        session, client = signing_session(
            runner, running.app, base_url=BASE_URL, user=ADMIN, secret=SECRET
        )
        ids = {"generator_id": str(G), "resource_id": str(G), "project_id": PROJECT}
        schema = load_schema(running.app.openapi(), base_url=BASE_URL, ids=ids)
        yield Audit(session=session, schema=schema)
        runner.run(client.aclose())
    finally:
        runner.run(stack.__aexit__(None, None, None))
        runner.close()


api = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture(scope="module")
def api_schema(audit: Audit) -> OpenApiSchema:
    return audit.schema


# Health checks off: a slow answer on a busy machine is not a finding, and the checks are.
@api.parametrize()
@hypothesis.settings(
    derandomize=True,
    deadline=None,
    suppress_health_check=list(hypothesis.HealthCheck),
    database=None,
)
def test_every_operation_keeps_its_contract(case: schemathesis.Case, audit: Audit) -> None:
    """Examples, coverage and fuzzing phases: one subtest per operation of the document."""
    case.call_and_validate(session=audit.session, base_url=BASE_URL)
