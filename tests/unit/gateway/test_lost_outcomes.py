"""No generator, dataset or job of the gateway stays running forever (issue 16).

A run ends in the gateway's read model through one event. When the worker gives up, its own
failure event (``TrainingFailed``, ``DatasetRejected``...) ends it as usual; when the gateway
itself cannot apply the final event, the consumer dead-letters it and the read model shows the
run failed (``outcome_unrecorded``), with a reason a user may read.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import orjson

from sds_common.bus import OutgoingMessage
from sds_common.events import TrainingFailed, topics
from tests.unit.gateway.harness import Harness, running_gateway


async def _generator(gw: Harness) -> tuple[str, str, str]:
    project_id = await gw.create_project()
    dataset_id = await gw.ready_dataset(project_id)
    response = await gw.call(
        "POST",
        "/api/v1/generators",
        json={"dataset_id": dataset_id, "privacy": {"epsilon": 3.0, "delta": 1e-6}},
    )
    assert response.status_code == 202, response.text
    return project_id, dataset_id, str(response.json()["id"])


async def _send_raw(gw: Harness, topic: str, event_type: str, payload: dict[str, object]) -> None:
    key = str(next(iter(payload.values())))
    body = {
        "event_id": str(uuid.uuid4()),
        "type": event_type,
        "version": 1,
        "occurred_at": "2030-01-01T00:00:00Z",
        "correlation_id": key,
        "actor": "trainer",
        "key": key,
        "payload": payload,
    }
    await gw.broker.send_batch(
        [
            OutgoingMessage(
                topic=gw.settings.topic(topic), key=key.encode(), value=orjson.dumps(body)
            )
        ]
    )


async def test_a_final_event_the_gateway_cannot_apply_fails_the_generator(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, bus_max_retries=1) as gw:
        _project, dataset_id, generator_id = await _generator(gw)
        # A ModelTrained the gateway cannot read (epochs < 0): the training's end is lost.
        await _send_raw(
            gw,
            topics.TRAINING,
            "ModelTrained",
            {
                "generator_id": generator_id,
                "dataset_id": dataset_id,
                "model_key": "m",
                "method": "dp-ctgan",
                "epsilon": 1.0,
                "delta": 1e-6,
                "epochs": -1,
                "duration_s": 1.0,
            },
        )
        body = await gw.until_status(f"/api/v1/generators/{generator_id}", "failed")
        assert body["error"]["code"] == "outcome_unrecorded"
        assert body["error"]["message"] == (
            "the outcome of this training could not be recorded: its ModelTrained event could "
            "not be processed by the gateway service: it does not match its published schema"
        )
        job = (await gw.call("GET", f"/api/v1/jobs/{generator_id}")).json()
        assert job["status"] == "failed"


async def test_an_upload_whose_outcome_cannot_be_applied_is_rejected(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, bus_max_retries=1) as gw:
        project_id = await gw.create_project()
        uploaded = await gw.upload(project_id)
        dataset_id = uploaded.json()["id"]
        await _send_raw(
            gw, topics.DATASETS, "DatasetRejected", {"dataset_id": dataset_id, "code": 3}
        )
        body = await gw.until_status(f"/api/v1/datasets/{dataset_id}", "rejected")
        assert body["error"]["code"] == "outcome_unrecorded"


async def test_a_worker_that_gave_up_fails_the_generator(tmp_path: Path) -> None:
    """The worker's own announcement (from its dead-letter hook) ends the run as usual."""
    async with running_gateway(tmp_path) as gw:
        _project, dataset_id, generator_id = await _generator(gw)
        message = (
            "the training request could not be processed by the trainer service: it does not "
            "match its published schema"
        )
        await gw.publish(
            TrainingFailed(
                generator_id=uuid.UUID(generator_id),
                dataset_id=uuid.UUID(dataset_id),
                code="invalid_request",
                message=message,
            )
        )
        body = await gw.until_status(f"/api/v1/generators/{generator_id}", "failed")
        assert body["error"] == {
            "code": "invalid_request",
            "message": message,
            "row": None,
            "column": None,
        }
