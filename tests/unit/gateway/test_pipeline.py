"""Read models fed by events: ordering, duplicates, sampling, evaluation, SSE, downloads."""

from __future__ import annotations

import asyncio
import io
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from sds_common.bus import OutgoingMessage
from sds_common.events import (
    DatasetRejected,
    EvaluationCompleted,
    ModelTrained,
    PrivacyBudgetReserved,
    PrivacyBudgetSpent,
    SyntheticDataGenerated,
    TrainingFailed,
    TrainingProgress,
    TrainingRequested,
    TrainingStarted,
)
from sds_common.ids import evaluation_id_for
from tests.unit.gateway.harness import DATASET_ROWS, Harness, profiled, running_gateway


async def _generator(gw: Harness) -> tuple[str, str, str]:
    project_id = await gw.create_project()
    dataset_id = await gw.ready_dataset(project_id)
    response = await gw.call(
        "POST",
        "/api/v1/generators",
        json={"dataset_id": dataset_id, "privacy": {"epsilon": 3.0, "delta": 1e-6}},
    )
    assert response.status_code == 202, response.text
    return project_id, dataset_id, response.json()["id"]


def _trained(generator_id: str, dataset_id: str) -> ModelTrained:
    return ModelTrained(
        generator_id=uuid.UUID(generator_id),
        dataset_id=uuid.UUID(dataset_id),
        model_key=f"models/{generator_id}/model.pt",
        method="dp-ctgan",
        epsilon=2.9,
        delta=1e-6,
        epochs=3,
        duration_s=1.5,
    )


def _progress(generator_id: str, epoch: int) -> TrainingProgress:
    return TrainingProgress(
        generator_id=uuid.UUID(generator_id),
        epoch=epoch,
        total_epochs=3,
        epsilon_spent=epoch * 0.9,
        losses={"generator": 1.0 / epoch},
    )


def _sse(text: str) -> list[dict[str, Any]]:
    events = []
    for block in text.split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in block.splitlines() if line and not line.startswith(":")
        )
        if "id" in fields:
            events.append(fields)
    return events


async def test_statuses_only_move_forward(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        project_id, dataset_id, generator_id = await _generator(gw)
        requested = gw.emitted("training", "TrainingRequested")
        await gw.until(lambda: _async(bool(gw.emitted("training", "TrainingRequested"))))
        requested = gw.emitted("training", "TrainingRequested")
        assert TrainingRequested.model_validate(requested[0].payload).privacy is not None

        # A rejection after the profile, and the profile again, change nothing.
        await gw.publish(
            DatasetRejected(dataset_id=uuid.UUID(dataset_id), code="late", message="late"),
            project_id=project_id,
        )
        await gw.publish(profiled(dataset_id), project_id=project_id)
        gen = uuid.UUID(generator_id)
        await gw.publish(
            TrainingStarted(generator_id=gen, dataset_id=uuid.UUID(dataset_id), device="cpu")
        )
        await gw.publish(_progress(generator_id, 1))
        await gw.publish(_progress(generator_id, 2))
        trained = await gw.publish(_trained(generator_id, dataset_id))
        body = await gw.until_status(f"/api/v1/generators/{generator_id}", "succeeded")
        # late and duplicate events
        await gw.publish(_progress(generator_id, 3))
        await gw.publish(
            TrainingStarted(generator_id=gen, dataset_id=uuid.UUID(dataset_id), device="gpu")
        )
        await gw.publish(
            TrainingFailed(
                generator_id=gen, dataset_id=uuid.UUID(dataset_id), code="x", message="x"
            )
        )
        await gw.broker.send_batch([_again(gw, trained)])
        # An event about a generator nobody asked for is ignored without error.
        stranger = str(uuid.uuid4())
        await gw.publish(_trained(stranger, dataset_id))
        marker = await gw.create_project("marker")
        await gw.publish(profiled(str(uuid.uuid4())), project_id=marker)
        await asyncio.sleep(0.3)

        after = (await gw.call("GET", f"/api/v1/generators/{generator_id}")).json()
        assert after["status"] == "succeeded"
        assert after["epoch"] == 2
        assert after["device"] == "cpu"
        assert after["epsilon"] == body["epsilon"] == 2.9
        assert after["error"] is None
        dataset = (await gw.call("GET", f"/api/v1/datasets/{dataset_id}")).json()
        assert dataset["status"] == "ready"
        assert (await gw.call("GET", f"/api/v1/generators/{stranger}")).status_code == 404
        job = (await gw.call("GET", f"/api/v1/jobs/{generator_id}")).json()
        assert (job["status"], job["progress"]) == ("succeeded", 1.0)
        listed = (
            await gw.call("GET", "/api/v1/generators", params={"dataset_id": dataset_id})
        ).json()
        assert [g["id"] for g in listed["items"]] == [generator_id]
        cancel = await gw.call("POST", f"/api/v1/generators/{generator_id}/cancel")
        assert cancel.status_code == 409


def _again(gw: Harness, envelope: Any) -> Any:
    return OutgoingMessage(
        topic=gw.settings.topic("training"), key=envelope.key.encode(), value=envelope.to_bytes()
    )


async def _async(value: bool) -> bool:
    return value


async def test_generator_requests_are_validated(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        project_id = await gw.create_project()
        uploaded = (await gw.upload(project_id)).json()["id"]
        not_ready = await gw.call(
            "POST", "/api/v1/generators", json={"dataset_id": uploaded, "privacy": {"epsilon": 1}}
        )
        assert not_ready.status_code == 409
        assert "uploaded" in not_ready.json()["detail"]
        await gw.publish(profiled(uploaded), project_id=project_id)
        await gw.until_status(f"/api/v1/datasets/{uploaded}", "ready")
        no_privacy = await gw.call("POST", "/api/v1/generators", json={"dataset_id": uploaded})
        assert no_privacy.status_code == 422
        assert no_privacy.json()["code"] == "privacy_required"
        non_dp = await gw.call(
            "POST", "/api/v1/generators", json={"dataset_id": uploaded, "method": "ctgan"}
        )
        assert non_dp.status_code == 422
        assert "allow_non_dp" in non_dp.json()["detail"]
        allowed = await gw.call(
            "POST",
            "/api/v1/generators",
            json={"dataset_id": uploaded, "method": "ctgan", "allow_non_dp": True},
        )
        assert allowed.status_code == 202, allowed.text
        assert allowed.json()["privacy"] is None


async def test_sampling_from_a_failed_generator_is_409_with_the_reason(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        _, dataset_id, generator_id = await _generator(gw)
        await gw.publish(
            TrainingFailed(
                generator_id=uuid.UUID(generator_id),
                dataset_id=uuid.UUID(dataset_id),
                code="diverged",
                message="loss became NaN at epoch 4",
            )
        )
        await gw.until_status(f"/api/v1/generators/{generator_id}", "failed")
        response = await gw.call("POST", f"/api/v1/generators/{generator_id}/samples", json={})
        assert response.status_code == 409
        assert response.json()["detail"].startswith(
            f"generator {generator_id} failed: loss became NaN at epoch 4"
        )


async def test_samples_evaluation_download_and_budget(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        project_id, dataset_id, generator_id = await _generator(gw)
        dataset = uuid.UUID(dataset_id)
        gen = uuid.UUID(generator_id)
        await gw.publish(
            PrivacyBudgetReserved(
                dataset_id=dataset,
                generator_id=gen,
                ledger=f"dataset:{dataset}",
                epsilon=3.0,
                delta=1e-6,
                remaining_epsilon=7.0,
            )
        )
        await gw.publish(
            PrivacyBudgetSpent(
                dataset_id=dataset,
                generator_id=gen,
                ledger=f"dataset:{dataset}",
                epsilon=2.9,
                delta=1e-6,
                preprocessing_epsilon=0.3,
                accountant="rdp",
                remaining_epsilon=7.1,
            )
        )
        await gw.publish(_trained(generator_id, dataset_id))
        await gw.until_status(f"/api/v1/generators/{generator_id}", "succeeded")

        sample = await gw.call("POST", f"/api/v1/generators/{generator_id}/samples", json={})
        assert sample.status_code == 202, sample.text
        synthetic = sample.json()
        # As many rows as the uploaded table (1250), not only its training part (1000).
        assert synthetic["rows_requested"] == DATASET_ROWS
        evaluation_id = str(evaluation_id_for(uuid.UUID(synthetic["id"])))
        assert synthetic["evaluation_id"] == evaluation_id
        queued = (await gw.call("GET", f"/api/v1/evaluations/{evaluation_id}")).json()
        assert (queued["status"], queued["automatic"]) == ("queued", True)
        early = await gw.call("GET", f"/api/v1/synthetic-datasets/{synthetic['id']}/download")
        assert early.status_code == 409

        table = pa.table({"age": list(range(2500)), "city": [f"c{i % 7}" for i in range(2500)]})
        sink = io.BytesIO()
        pq.write_table(table, sink, row_group_size=1000)
        key = f"synthetic/{synthetic['id']}/data.parquet"
        await gw.storage.put_bytes(key, sink.getvalue())
        await gw.publish(
            SyntheticDataGenerated(
                generator_id=gen,
                synthetic_dataset_id=uuid.UUID(synthetic["id"]),
                dataset_id=dataset,
                object_key=key,
                rows=2500,
            )
        )
        await gw.until_status(f"/api/v1/synthetic-datasets/{synthetic['id']}", "succeeded")
        await gw.until_status(f"/api/v1/evaluations/{evaluation_id}", "running")

        csv = await gw.call(
            "GET", f"/api/v1/synthetic-datasets/{synthetic['id']}/download?format=csv"
        )
        assert csv.status_code == 200
        assert csv.headers["content-type"].startswith("text/csv")
        assert f"synthetic-{synthetic['id']}.csv" in csv.headers["content-disposition"]
        lines = csv.text.splitlines()
        assert lines[0] == "age,city"  # quotes only where a value needs them
        assert len(lines) == 2501
        assert lines[1] == "0,c0"
        assert lines[-1] == f"2499,c{2499 % 7}"
        parquet = await gw.call(
            "GET", f"/api/v1/synthetic-datasets/{synthetic['id']}/download?format=parquet"
        )
        assert parquet.content == sink.getvalue()

        await gw.storage.put_bytes(f"reports/{evaluation_id}.html", b"<h1>report</h1>")
        await gw.publish(
            EvaluationCompleted(
                evaluation_id=uuid.UUID(evaluation_id),
                synthetic_dataset_id=uuid.UUID(synthetic["id"]),
                generator_id=gen,
                scores={"fidelity": 0.9},
                report_key=f"reports/{evaluation_id}.json",
                html_report_key=f"reports/{evaluation_id}.html",
            )
        )
        done = await gw.until_status(f"/api/v1/evaluations/{evaluation_id}", "succeeded")
        assert done["scores"] == {"fidelity": 0.9}
        report = await gw.call("GET", f"/api/v1/evaluations/{evaluation_id}/report")
        assert report.headers["content-type"].startswith("text/html")
        assert report.text == "<h1>report</h1>"
        listed = await gw.call(
            "GET", "/api/v1/evaluations", params={"synthetic_dataset_id": synthetic["id"]}
        )
        assert [e["id"] for e in listed.json()["items"]] == [evaluation_id]
        again = await gw.call(
            "POST", "/api/v1/evaluations", json={"synthetic_dataset_id": synthetic["id"]}
        )
        assert again.status_code == 202
        assert again.json()["automatic"] is False

        budget = (await gw.call("GET", f"/api/v1/datasets/{dataset_id}/privacy-budget")).json()
        assert [e["entry"] for e in budget["entries"]] == ["reserved", "spent"]
        assert budget["totals"] == {
            "spent_epsilon": 2.9,
            "reserved_epsilon": 0.0,
            "remaining_epsilon": 7.1,
        }
        assert project_id


async def test_sse_streams_progress_in_order_and_resumes(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        _, dataset_id, generator_id = await _generator(gw)
        path = f"/api/v1/jobs/{generator_id}/events"
        live = asyncio.create_task(gw.call("GET", path))
        await asyncio.sleep(0.2)
        assert not live.done()  # waiting for news
        for epoch in (1, 2, 3):
            await gw.publish(_progress(generator_id, epoch))
        await gw.publish(_trained(generator_id, dataset_id))
        response = await asyncio.wait_for(live, timeout=10)
        assert response.headers["content-type"].startswith("text/event-stream")
        events = _sse(response.text)
        assert [e["event"] for e in events] == [
            "queued",
            "TrainingProgress",
            "TrainingProgress",
            "TrainingProgress",
            "ModelTrained",
        ]
        ids = [int(e["id"]) for e in events]
        assert ids == sorted(ids)
        assert '"epoch":2' in events[2]["data"]

        resumed = await gw.call("GET", path, headers={"Last-Event-ID": str(ids[2])})
        assert [int(e["id"]) for e in _sse(resumed.text)] == ids[3:]
