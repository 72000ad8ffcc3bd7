"""The trainer's fit report through the gateway: what a training released and chose."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from sds_common.events import ModelTrained
from tests.unit.gateway.harness import BOB, Harness, running_gateway

REPORT = {
    "epsilon": 0.99,
    "choice": {"method": "aim", "params": {}, "reasons": ["aim: best quality"]},
    "columns": [{"column": "case", "kind": "identifier", "regenerated": "shape"}],
}


async def _generator(gw: Harness) -> tuple[str, str]:
    project_id = await gw.create_project()
    dataset_id = await gw.ready_dataset(project_id)
    created = await gw.call(
        "POST",
        "/api/v1/generators",
        json={"dataset_id": dataset_id, "method": "auto", "privacy": {"epsilon": 1.0}},
    )
    assert created.status_code == 202, created.text
    return dataset_id, created.json()["id"]


async def test_the_fit_report_is_served_to_the_project_once_trained(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        dataset_id, generator_id = await _generator(gw)
        early = await gw.call("GET", f"/api/v1/generators/{generator_id}/fit-report")
        assert early.status_code == 409
        assert early.json()["code"] == "generator_not_ready"
        key = f"generators/{generator_id}/privacy.json"
        await gw.storage.put_bytes(key, json.dumps(REPORT).encode())
        await gw.publish(
            ModelTrained(
                generator_id=uuid.UUID(generator_id),
                dataset_id=uuid.UUID(dataset_id),
                model_key=f"generators/{generator_id}/model.bin",
                method="auto",
                epsilon=0.99,
                delta=1e-6,
                epochs=4,
                duration_s=1.0,
                privacy_report_key=key,
            )
        )
        await gw.until_status(f"/api/v1/generators/{generator_id}", "succeeded")
        response = await gw.call("GET", f"/api/v1/generators/{generator_id}/fit-report")
        assert response.status_code == 200, response.text
        assert response.json() == REPORT
        outsider = await gw.call("GET", f"/api/v1/generators/{generator_id}/fit-report", user=BOB)
        assert outsider.status_code == 404
