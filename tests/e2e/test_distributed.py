"""The main flow on the DISTRIBUTED runtime: a process per service on Kafka, PostgreSQL, S3, Redis.

Everything goes through the gateway's HTTP API with signed requests, exactly like a client of a
deployment. The stack (``tests.e2e.distributed_stack``) is started once per session in its own
namespace: topics, schemas and bucket are private to this run and removed at the end.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from sds_common.auth import signed_headers
from sds_common.events import Envelope, topics
from sds_studio.client import StudioClient, StudioError
from sds_studio.distributed import DistributedStack
from tests.e2e.conftest import ADULT, E2E_PARAMS, E2E_ROWS
from tests.e2e.distributed_stack import DistributedRig, topic_messages

pytestmark = [
    pytest.mark.kafka,
    pytest.mark.postgres,
    pytest.mark.s3,
    pytest.mark.redis,
    pytest.mark.slow,
]

#: Rows of the table the crash test trains on: small, so that each epoch takes about a second.
CRASH_ROWS = 800
CRASH_EPOCHS = 12
EPOCHS = 3


@pytest.fixture(scope="module")
def stack(distributed_rig: DistributedRig) -> DistributedStack:
    """The six services (see ``tests.e2e.distributed_stack``)."""
    return distributed_rig.stack


@pytest.fixture(scope="module")
def stack_data_dir(distributed_rig: DistributedRig) -> Path:
    """The data folder holding the stack's secret, where the CLI finds it."""
    return distributed_rig.data_dir


@pytest.fixture
async def client(stack: DistributedStack) -> AsyncIterator[StudioClient]:
    async with StudioClient(
        stack.gateway_url, secret=stack.auth_secret, user_id="bob", email="bob@example.org"
    ) as studio:
        yield studio


def _sample(rows: int, destination: Path) -> Path:
    pd.read_csv(ADULT).sample(n=rows, random_state=11).to_csv(destination, index=False)
    return destination


async def _ready_dataset(client: StudioClient, path: Path, stack: DistributedStack) -> dict:
    project = await client.create_project("distributed e2e")
    dataset = await client.upload(path, project_id=project["id"], target="income")
    dataset = await client.wait(f"/datasets/{dataset['id']}")
    assert dataset["status"] == "ready", (dataset, stack.log_tail("datasets"))
    return dataset


async def _topic_events(stack: DistributedStack, topic: str, *, key: str) -> list[Envelope]:
    """Every envelope on a topic with partition key ``key``, once each (by event id)."""
    return [envelope for envelope, _ in await topic_messages(stack, topic, key=key)]


async def test_upload_train_sample_evaluate_distributed(
    stack: DistributedStack, client: StudioClient, tmp_path: Path
) -> None:
    dataset = await _ready_dataset(client, _sample(E2E_ROWS, tmp_path / "adult.csv"), stack)
    assert dataset["n_rows"] == E2E_ROWS
    assert dataset["train_rows"] == E2E_ROWS - round(E2E_ROWS * 0.2)

    params = {**E2E_PARAMS, "epochs": EPOCHS}
    generator = await client.train(dataset["id"], method="dp-ctgan", epsilon=1.0, params=params)
    assert generator["status"] == "queued"
    epochs: list[int] = []
    generator = await client.wait(
        f"/generators/{generator['id']}",
        on_update=lambda e: (
            epochs.append(e["data"]["epoch"]) if e.get("event") == "TrainingProgress" else None
        ),
    )
    assert generator["status"] == "succeeded", (generator.get("error"), stack.log_tail("trainer"))
    assert 0 < generator["epsilon"] <= 1.0 + 1e-9
    assert generator["delta"] < 1 / dataset["train_rows"]
    assert epochs == list(range(1, EPOCHS + 1))

    budget = await client.get(f"/datasets/{dataset['id']}/privacy-budget")
    assert [e["entry"] for e in budget["entries"]][:2] == ["reserved", "spent"]
    assert budget["totals"]["spent_epsilon"] == pytest.approx(generator["epsilon"])
    assert budget["totals"]["reserved_epsilon"] == pytest.approx(0.0, abs=1e-9)

    synthetic = await client.sample(generator["id"], rows=1500, seed=1)
    synthetic = await client.wait(f"/synthetic-datasets/{synthetic['id']}")
    assert synthetic["status"] == "succeeded", (synthetic, stack.log_tail("trainer"))
    assert synthetic["rows"] == 1500
    frame = pd.read_csv(
        await client.download(
            f"/synthetic-datasets/{synthetic['id']}/download?format=csv", tmp_path / "s.csv"
        )
    )
    assert len(frame) == 1500
    assert set(frame["income"].dropna()) <= {"<=50K", ">50K"}

    evaluation = await client.wait(f"/evaluations/{synthetic['evaluation_id']}")
    assert evaluation["status"] == "succeeded", (evaluation, stack.log_tail("evaluator"))
    assert 0.0 <= evaluation["scores"]["fidelity"] <= 1.0
    assert 0.0 <= evaluation["scores"]["mia_auc"] <= 1.0
    report = await client.download(f"/evaluations/{evaluation['id']}/report", tmp_path / "r.html")
    html = report.read_text()
    assert "<html" in html.lower()
    assert "ε" in html or "epsilon" in html.lower()

    # The llm service's routes, through the gateway: an explanation, then a streamed chat.
    explained = await _llm_when_known(client, f"/evaluations/{evaluation['id']}/explanation")
    assert explained["answer"]["provider"] == "offline"
    assert explained["findings"]
    assert explained["recommendations"]
    events = await _chat(stack, evaluation_id=evaluation["id"], user=("bob", "bob@example.org"))
    assert events[0][0] == "meta"
    assert json.loads(events[0][1])["provider"] == "offline"
    assert events[-1][0] == "done"
    answer = "".join(json.loads(data)["text"] for name, data in events if name == "message")
    assert len(answer) > 40, events


async def test_killed_trainer_resumes_from_its_checkpoint_and_charges_once(
    stack: DistributedStack, client: StudioClient, tmp_path: Path
) -> None:
    dataset = await _ready_dataset(client, _sample(CRASH_ROWS, tmp_path / "crash.csv"), stack)
    params = {**E2E_PARAMS, "epochs": CRASH_EPOCHS, "batch_size": 160}
    generator = await client.train(dataset["id"], method="dp-ctgan", epsilon=1.0, params=params)
    generator_id = generator["id"]

    streamed: list[dict[str, Any]] = []
    follower = asyncio.create_task(
        client.wait(f"/generators/{generator_id}", on_update=streamed.append)
    )

    def announced() -> list[int]:
        return [e["data"]["epoch"] for e in streamed if e.get("event") == "TrainingProgress"]

    async with asyncio.timeout(120):
        while not announced() or announced()[-1] < 2:
            assert not follower.done(), "the training ended before the trainer could be killed"
            await asyncio.sleep(0.05)
    await asyncio.to_thread(stack.kill, "trainer")
    killed_after = announced()[-1]
    assert killed_after < CRASH_EPOCHS, "the training finished before the kill: nothing tested"
    # The restarted trainer claims the job again once its 5 s lease has run out.
    await asyncio.to_thread(stack.restart, "trainer", timeout_s=240.0)
    async with asyncio.timeout(180):
        generator = await follower

    assert generator["status"] == "succeeded", (generator.get("error"), stack.log_tail("trainer"))
    assert 0 < generator["epsilon"] <= 1.0 + 1e-9
    assert announced() == sorted(set(announced())), announced()
    assert announced()[-1] == CRASH_EPOCHS
    assert [e.get("event") for e in streamed].count("ModelTrained") == 1

    # The ledger: ONE reservation, charged once; nothing left reserved.
    budget = await client.get(f"/datasets/{dataset['id']}/privacy-budget")
    entries = [e["entry"] for e in budget["entries"]]
    assert entries[:2] == ["reserved", "spent"], budget
    assert (entries.count("reserved"), entries.count("spent")) == (1, 1), budget
    assert {e["generator_id"] for e in budget["entries"]} == {generator_id}
    assert budget["totals"]["spent_epsilon"] == pytest.approx(generator["epsilon"])
    assert budget["totals"]["reserved_epsilon"] == pytest.approx(0.0, abs=1e-9)

    # What really went over Kafka (the gateway's read model hides duplicates; the log does not).
    training = await _topic_events(stack, topics.TRAINING, key=generator_id)
    kinds = [e.type for e in training]
    assert kinds.count("ModelTrained") == 1, kinds
    assert kinds.count("TrainingStarted") == 2, kinds  # the first attempt and the resumed one
    resumed_at = max(i for i, kind in enumerate(kinds) if kind == "TrainingStarted")
    before = [
        int(str(e.payload["epoch"])) for e in training[:resumed_at] if e.type == "TrainingProgress"
    ]
    after = [
        int(str(e.payload["epoch"])) for e in training[resumed_at:] if e.type == "TrainingProgress"
    ]
    assert before[-1] >= killed_after
    # Resumed from a checkpoint, not from scratch, and no epoch announced (or trained) twice.
    assert after, kinds
    assert after == list(range(after[0], CRASH_EPOCHS + 1))
    assert 2 <= after[0] <= before[-1] + 1, (before, after)
    assert after[0] > before[-1], f"epochs {before} then {after}: some were announced twice"
    privacy = await _topic_events(stack, topics.PRIVACY, key=dataset["id"])
    charges = [e.type for e in privacy]
    assert charges.count("PrivacyBudgetReserved") == 1, charges
    assert charges.count("PrivacyBudgetSpent") == 1, charges


async def _llm_when_known(
    client: StudioClient, path: str, *, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    """POST an llm route until the llm service has consumed the subject's events (404 before)."""
    async with asyncio.timeout(60):
        while True:
            try:
                result: dict[str, Any] = await client.call("POST", path, json=body)
            except StudioError as exc:
                if exc.status != 404:
                    raise
                await asyncio.sleep(0.25)
                continue
            return result


async def _chat(
    stack: DistributedStack, *, evaluation_id: str, user: tuple[str, str]
) -> list[tuple[str, str]]:
    """The (event, data) pairs of one chat answer streamed through the gateway."""
    path = "/api/v1/chat"
    headers = signed_headers(
        stack.auth_secret, method="POST", path=path, user_id=user[0], email=user[1], role="user"
    )
    events: list[tuple[str, str]] = []
    async with (
        httpx.AsyncClient(base_url=stack.gateway_url, timeout=60) as http,
        http.stream(
            "POST",
            path,
            headers=headers,
            json={"evaluation_id": evaluation_id, "question": "What should I do next?"},
        ) as response,
    ):
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        name = "message"
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                events.append((name, line.removeprefix("data: ")))
                name = "message"
    return events


async def test_audit_and_llm_routes_through_the_gateway(
    stack: DistributedStack, client: StudioClient, tmp_path: Path
) -> None:
    """The distributed gateway forwards /audit/* and the llm routes to their processes."""
    async with StudioClient(
        stack.gateway_url,
        secret=stack.auth_secret,
        user_id="auditor",
        email="auditor@example.org",
        role="admin",
    ) as admin:
        verified = await admin.get("/audit/verify")
    assert verified["ok"] is True, verified
    with pytest.raises(StudioError) as refused:
        await client.get("/audit/verify")  # bob is no admin: the audit service says so
    assert (refused.value.status, refused.value.code) == (403, "forbidden")

    dataset = await _ready_dataset(client, _sample(CRASH_ROWS, tmp_path / "llm.csv"), stack)
    dictionary = await _llm_when_known(client, f"/datasets/{dataset['id']}/data-dictionary")
    assert {"age", "income"} <= {entry["name"] for entry in dictionary["entries"]}
    assert dictionary["answer"]["provider"] == "offline"
    assert dictionary["answer"]["degraded"] is False
    advice = await client.call(
        "POST", "/privacy/advice", json={"dataset_id": dataset["id"], "use": "ML training"}
    )
    assert advice["use"] == "ml_training"
    async with StudioClient(
        stack.gateway_url, secret=stack.auth_secret, user_id="mallory", email="m@example.org"
    ) as outsider:
        with pytest.raises(StudioError) as hidden:
            await outsider.call("POST", f"/datasets/{dataset['id']}/data-dictionary")
    assert (hidden.value.status, hidden.value.code) == (404, "not_found")


async def test_audit_and_llm_entry_points_refuse_replays_and_duplicated_headers(
    stack: DistributedStack, client: StudioClient, tmp_path: Path
) -> None:
    """The audit and llm services run the gateway's identity check themselves: whether a request
    comes through the gateway or straight to their port, a replayed signature, a prepended
    fresh nonce and a doubled identity header are 401 and recorded as AuthenticationFailed; an
    API key works through the gateway within its scope."""
    dataset = await _ready_dataset(client, _sample(CRASH_ROWS, tmp_path / "door.csv"), stack)
    await _llm_when_known(client, f"/datasets/{dataset['id']}/data-dictionary")
    routes = {
        "audit": ("GET", "/api/v1/audit/verify", ("auditor", "auditor@example.org", "admin"), None),
        "llm": (
            "POST",
            "/api/v1/privacy/advice",
            ("bob", "bob@example.org", "user"),
            {"dataset_id": dataset["id"], "use": "ML training"},
        ),
    }
    async with httpx.AsyncClient(timeout=60) as http:
        for service, (method, path, user, body) in routes.items():
            direct = f"http://127.0.0.1:{stack.port(service)}{path}"
            through = f"{stack.gateway_url}{path}"

            def signed(m: str = method, p: str = path, u: tuple[str, ...] = user) -> dict[str, str]:
                return signed_headers(
                    stack.auth_secret, method=m, path=p, user_id=u[0], email=u[1], role=u[2]
                )

            async def send(url: str, headers: Any, b: Any = body, m: str = method) -> int:
                response = await http.request(m, url, headers=headers, json=b)
                return response.status_code

            headers = signed()
            assert await send(through, headers) == 200, service
            assert await send(through, headers) == 401, service  # replayed at the gateway
            assert await send(direct, headers) == 401, service  # and at the service itself
            fresh = signed()
            assert await send(direct, fresh) == 200, service  # the service's own door works
            prepended = [("X-Proxy-Nonce", "A" * 22), *signed().items()]
            assert await send(through, prepended) == 401, service
            assert await send(direct, prepended) == 401, service
            doubled = [*signed().items(), ("X-User-Role", user[2])]
            assert await send(direct, doubled) == 401, service

        # An API key goes through the gateway, which alone can verify it.
        project_id = dataset["project_id"]
        key = await client.call(
            "POST", "/api-keys", json={"name": "ci", "project_id": project_id, "access": "read"}
        )
        bearer = {"Authorization": f"Bearer {key['token']}"}
        llm_method, llm_path, _, llm_body = routes["llm"]
        assert await send(f"{stack.gateway_url}{llm_path}", bearer, llm_body, llm_method) == 200
        audited = await http.get(f"{stack.gateway_url}/api/v1/audit/verify", headers=bearer)
        assert (audited.status_code, audited.json()["code"]) == (403, "api_key_not_allowed")
        straight = f"http://127.0.0.1:{stack.port('llm')}{llm_path}"
        assert await send(straight, bearer, llm_body, llm_method) == 401

    async def refusals_of(service: str) -> list[Envelope]:
        events = await _topic_events(stack, topics.ACCESS, key="anonymous")
        return [e for e in events if e.type == "AuthenticationFailed" and e.actor == service]

    for service in routes:
        async with asyncio.timeout(60):
            while not await refusals_of(service):
                await asyncio.sleep(0.5)


async def test_the_cli_works_against_the_stack_as_the_readme_shows(
    stack: DistributedStack, stack_data_dir: Path, tmp_path: Path
) -> None:
    """`sds upload` with no secret given: it reads the one the stack was started with."""
    table = _sample(CRASH_ROWS, tmp_path / "cli.csv")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SDS_")}
    env.update(SDS_URL=stack.gateway_url, SDS_DATA_DIR=str(stack_data_dir))
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("sds")),
        "upload",
        str(table),
        "--target",
        "income",
        "--wait",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=240)
    assert process.returncode == 0, (out + err).decode()
    dataset = json.loads(out)
    assert (dataset["status"], dataset["n_rows"]) == ("ready", CRASH_ROWS)
