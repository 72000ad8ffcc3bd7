"""``mst`` (a marginal-based DP method) through the gateway's HTTP API on the embedded runtime.

upload → profiled → ``POST /generators {"method": "mst", "privacy": {"epsilon": 1}}`` → trained
by the trainer job in rounds, charged in zCDP → sampled → downloaded.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sds_studio.client import StudioClient
from tests.e2e.conftest import E2E_PARAMS

pytestmark = pytest.mark.slow


async def test_mst_trains_charges_and_samples_through_the_api(
    embedded: StudioClient, small_adult: Path, tmp_path: Path
) -> None:
    client = embedded
    project = await client.create_project("marginal")
    dataset = await client.upload(small_adult, project_id=project["id"], target="income")
    dataset = await client.wait(f"/datasets/{dataset['id']}")
    assert dataset["status"] == "ready", dataset

    verdict = await client.call(
        "POST",
        "/privacy/validate",
        json={"dataset_id": dataset["id"], "method": "mst", "privacy": {"epsilon": 1.0}},
    )
    assert verdict["ok"] is True, verdict

    # No DP-SGD parameter: only the declared target categories (public metadata).
    params = {"public_metadata": E2E_PARAMS["public_metadata"]}
    generator = await client.train(dataset["id"], method="mst", epsilon=1.0, params=params)
    rounds: list[int] = []
    generator = await client.wait(
        f"/generators/{generator['id']}",
        on_update=lambda e: (
            rounds.append(e["data"]["epoch"]) if e.get("event") == "TrainingProgress" else None
        ),
    )
    assert generator["status"] == "succeeded", generator.get("error")
    # The ledger spends its whole zCDP budget, converted back to the ε asked for.
    assert generator["epsilon"] == pytest.approx(1.0, rel=1e-6)
    assert generator["epsilon"] <= 1.0 + 1e-12
    assert generator["delta"] < 1 / dataset["train_rows"]
    assert rounds == [1, 2, 3]

    budget = await client.get(f"/datasets/{dataset['id']}/privacy-budget")
    assert budget["totals"]["spent_epsilon"] == pytest.approx(generator["epsilon"])
    assert budget["totals"]["reserved_epsilon"] == pytest.approx(0.0, abs=1e-9)
    spent = [e for e in budget["entries"] if e["entry"] == "spent"]
    assert [e["details"]["accountant"] for e in spent] == ["zcdp"]

    synthetic = await client.sample(generator["id"], rows=800, seed=1)
    synthetic = await client.wait(f"/synthetic-datasets/{synthetic['id']}")
    assert synthetic["status"] == "succeeded", synthetic
    csv = await client.download(
        f"/synthetic-datasets/{synthetic['id']}/download?format=csv", tmp_path / "mst.csv"
    )
    frame = pd.read_csv(csv)
    assert len(frame) == 800
    assert set(frame["income"].dropna()) <= {"<=50K", ">50K"}
    assert frame["income"].nunique() == 2
    assert pd.to_numeric(frame["age"]).notna().all()
