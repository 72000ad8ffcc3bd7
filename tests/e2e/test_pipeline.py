"""The main job through the gateway's HTTP API on the embedded runtime.

upload → profiled → DP training (ε ≤ 1) → sampling → evaluated, plus the refusals a user meets.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, cast

import pandas as pd
import pytest

from sds_common.events import topic_of
from sds_studio.client import StudioClient, StudioError
from tests.e2e.conftest import E2E_PARAMS, E2E_ROWS

pytestmark = pytest.mark.slow


async def _ready_dataset(client: StudioClient, path: Path) -> dict:
    project = await client.create_project("e2e")
    dataset = await client.upload(path, project_id=project["id"], target="income")
    assert dataset["status"] in ("uploaded", "processing")
    dataset = await client.wait(f"/datasets/{dataset['id']}")
    assert dataset["status"] == "ready", dataset
    return dataset


async def test_upload_train_sample_evaluate(
    embedded: StudioClient, embedded_admin: StudioClient, small_adult: Path, tmp_path: Path
) -> None:
    client = embedded
    dataset = await _ready_dataset(client, small_adult)
    assert dataset["n_rows"] == E2E_ROWS
    assert dataset["train_rows"] == E2E_ROWS - round(E2E_ROWS * 0.2)

    generator = await client.train(dataset["id"], method="dp-ctgan", epsilon=1.0, params=E2E_PARAMS)
    assert generator["status"] == "queued"
    epochs: list[int] = []
    generator = await client.wait(
        f"/generators/{generator['id']}",
        on_update=lambda e: (
            epochs.append(e["data"]["epoch"]) if e.get("event") == "TrainingProgress" else None
        ),
    )
    assert generator["status"] == "succeeded", generator.get("error")
    assert 0 < generator["epsilon"] <= 1.0 + 1e-9
    assert generator["delta"] < 1 / dataset["train_rows"]
    assert epochs == sorted(epochs)
    assert epochs[-1] == E2E_PARAMS["epochs"]

    budget = await client.get(f"/datasets/{dataset['id']}/privacy-budget")
    assert budget["totals"]["spent_epsilon"] == pytest.approx(generator["epsilon"])
    assert budget["totals"]["reserved_epsilon"] == pytest.approx(0.0, abs=1e-9)
    assert [e["entry"] for e in budget["entries"]][:2] == ["reserved", "spent"]

    synthetic = await client.sample(generator["id"], rows=1500, seed=1)
    synthetic = await client.wait(f"/synthetic-datasets/{synthetic['id']}")
    assert synthetic["status"] == "succeeded", synthetic
    assert synthetic["rows"] == 1500
    csv = await client.download(
        f"/synthetic-datasets/{synthetic['id']}/download?format=csv", tmp_path / "s.csv"
    )
    frame = pd.read_csv(csv)
    assert len(frame) == 1500
    assert "income" in frame.columns
    assert set(frame["income"].dropna()) <= {"<=50K", ">50K"}

    evaluation = await client.wait(f"/evaluations/{synthetic['evaluation_id']}")
    assert evaluation["status"] == "succeeded", evaluation
    scores = evaluation["scores"]
    assert 0.0 <= scores["fidelity"] <= 1.0
    assert 0.0 <= scores["mia_auc"] <= 1.0
    report = await client.download(f"/evaluations/{evaluation['id']}/report", tmp_path / "r.html")
    html = report.read_text()
    assert "<html" in html.lower()
    assert "ε" in html or "epsilon" in html.lower()
    # The privacy section states how the guarantee was achieved, next to the empirical risks.
    assert 'id="privacy-parameters"' in html
    assert "Noise multiplier" in html
    assert "Clipping norm" in html

    await _assert_the_audit_trail(embedded_admin, generator, evaluation)
    # The project's owner reads its generator's model card (the log itself stays admin-only).
    card = await client.get(f"/audit/generators/{generator['id']}/model-card")
    assert card["generator_id"] == generator["id"]
    with pytest.raises(StudioError) as refused:
        await client.get("/audit/events")
    assert refused.value.status == 403


#: A DP generator's life as the audit log records it, in causal order. A budget release
#: follows the spend when the accountant charged less than was reserved.
_TRAINING_LIFE = (
    "DatasetUploaded",
    "DatasetProfiled",
    "TrainingRequested",
    "PrivacyBudgetReserved",
    "TrainingStarted",
    *("TrainingProgress",) * cast(int, E2E_PARAMS["epochs"]),
    "PrivacyBudgetSpent",
    "PrivacyBudgetReleased",
    "ModelTrained",
    "GenerationRequested",
    "SyntheticDataGenerated",
)


async def _assert_the_audit_trail(
    admin: StudioClient, generator: dict[str, Any], evaluation: dict[str, Any]
) -> None:
    """The generator's complete trail, through the API, in order; and the log verifies."""
    path = f"/audit/generators/{generator['id']}/trail"
    trail: list[dict[str, Any]] = []
    for _ in range(200):  # the audit service consumes asynchronously
        trail = (await admin.get(path))["items"]
        if {"EvaluationCompleted", "ExplanationGenerated"} <= {r["event_type"] for r in trail}:
            break
        await asyncio.sleep(0.1)
    seqs = [r["seq"] for r in trail]
    assert seqs == sorted(seqs)
    # Causal order: when each fact happened. The log's own order may interleave topics, but
    # never reorders one topic's events about one resource (checked below).
    causal = [r["event_type"] for r in sorted(trail, key=lambda r: r["occurred_at"])]
    expected = [
        t
        for t in _TRAINING_LIFE
        if t != "PrivacyBudgetReleased" or "PrivacyBudgetReleased" in causal
    ]
    assert causal[: len(expected)] == expected, causal
    # Then, in an order set by the user and the services: the download, the automatic
    # evaluation and the explanation of it.
    assert sorted(causal[len(expected) :]) == sorted(
        ["SyntheticDataDownloaded", "EvaluationCompleted", "ExplanationGenerated"]
    ), causal
    assert causal.index("EvaluationCompleted") < causal.index("ExplanationGenerated")
    by_stream: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for record in trail:
        stream = (topic_of(record["event_type"]), record["resource_id"])
        by_stream.setdefault(stream, []).append(record)
    for records in by_stream.values():
        assert records == sorted(records, key=lambda r: r["occurred_at"])
    completed = next(r for r in trail if r["event_type"] == "EvaluationCompleted")
    assert completed["payload"]["evaluation_id"] == evaluation["id"]
    spent = next(r for r in trail if r["event_type"] == "PrivacyBudgetSpent")
    assert spent["privacy"]["epsilon"] == pytest.approx(generator["epsilon"])
    for parameter in ("noise_multiplier", "sample_rate", "steps", "max_grad_norm", "mechanism"):
        assert spent["privacy"].get(parameter) is not None, parameter

    verified = await admin.get("/audit/verify")
    assert verified["ok"] is True, verified
    report = await admin.get(f"/audit/generators/{generator['id']}/privacy-report")
    assert report["integrity"]["chain_ok"] is True
    assert report["history"]["guarantee"]["in_force"] is True
    assert [i["seq"] for i in report["history"]["trail"]] == seqs


async def test_unsafe_privacy_settings_are_refused_and_spend_nothing(
    embedded: StudioClient, small_adult: Path
) -> None:
    client = embedded
    dataset = await _ready_dataset(client, small_adult)
    # The trainer's policy runs at the door: refused before anything is queued.
    with pytest.raises(StudioError) as refused:
        await client.train(dataset["id"], method="dp-ctgan", epsilon=50.0, params=E2E_PARAMS)
    assert (refused.value.status, refused.value.code) == (422, "invalid_privacy")
    assert "policy cap" in refused.value.detail
    assert (await client.get(f"/generators?dataset_id={dataset['id']}"))["items"] == []
    budget = await client.get(f"/datasets/{dataset['id']}/privacy-budget")
    assert budget["totals"]["spent_epsilon"] == 0
    assert budget["totals"]["reserved_epsilon"] == 0


async def test_rejected_upload_says_where_and_why(embedded: StudioClient, tmp_path: Path) -> None:
    client = embedded
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b,c\n1,2,3\n4,5\n6,7,8\n")
    project = await client.create_project("bad input")
    dataset = await client.upload(ragged, project_id=project["id"])
    dataset = await client.wait(f"/datasets/{dataset['id']}")
    assert dataset["status"] == "rejected"
    assert dataset["error"]["code"] == "ragged_rows"
    assert dataset["error"]["row"] is not None
    with pytest.raises(StudioError) as refused:
        await client.train(dataset["id"], epsilon=1.0)
    assert refused.value.status == 409
