"""``POST /api/v1/privacy/validate``: the trainer's policy as a dry run, budget untouched."""

from __future__ import annotations

import uuid
from pathlib import Path

from sds_common.events import PrivacyBudgetReserved
from tests.unit.gateway.harness import BOB, Harness, running_gateway

PATH = "/api/v1/privacy/validate"
ROWS = 1250  # the harness holds out a fifth: 1000 training rows, 1/n = 1e-3


async def _dataset(gw: Harness) -> str:
    return await gw.ready_dataset(await gw.create_project(), n_rows=ROWS)


async def test_an_acceptable_request_is_ok_and_shows_the_resolved_default_delta(
    tmp_path: Path,
) -> None:
    async with running_gateway(tmp_path) as gw:
        dataset_id = await _dataset(gw)
        response = await gw.call(
            "POST", PATH, json={"dataset_id": dataset_id, "privacy": {"epsilon": 2.0}}
        )
        budget = await gw.call("GET", f"/api/v1/datasets/{dataset_id}/privacy-budget")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "ok": True,
        "epsilon": 2.0,
        "delta": 1000**-1.5,
        "reasons": [],
        "remaining_epsilon": 5.0,
        "train_rows": 1000,
    }
    assert budget.json()["entries"] == []  # a dry run reserves nothing


async def test_epsilon_above_the_cap_is_refused_in_words(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, trainer_epsilon_cap=3.0) as gw:
        dataset_id = await _dataset(gw)
        response = await gw.call(
            "POST",
            PATH,
            json={"dataset_id": dataset_id, "method": "dp-ctgan", "privacy": {"epsilon": 4.0}},
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ok"] is False
    assert len(body["reasons"]) == 1
    assert "above the policy cap of 3" in body["reasons"][0]
    assert "SDS_TRAINER_EPSILON_CAP" in body["reasons"][0]


async def test_delta_not_far_below_one_over_n_is_refused_with_the_default_shown(
    tmp_path: Path,
) -> None:
    async with running_gateway(tmp_path) as gw:
        dataset_id = await _dataset(gw)
        response = await gw.call(
            "POST",
            PATH,
            json={"dataset_id": dataset_id, "privacy": {"epsilon": 1.0, "delta": 2e-3}},
        )
    body = response.json()
    assert response.status_code == 200, response.text
    assert body["ok"] is False
    assert body["delta"] == 2e-3
    assert len(body["reasons"]) == 1
    assert "not far below 1/n = 0.001" in body["reasons"][0]
    assert f"use δ ≤ {1000**-1.5:.2g}" in body["reasons"][0]


async def test_the_remaining_budget_comes_from_the_ledger_read_model(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        dataset_id = await _dataset(gw)
        await gw.publish(
            PrivacyBudgetReserved(
                dataset_id=uuid.UUID(dataset_id),
                generator_id=uuid.uuid4(),
                ledger=f"dataset:{dataset_id}",
                epsilon=4.0,
                delta=1e-6,
                remaining_epsilon=1.0,
            )
        )

        async def recorded() -> bool:
            budget = await gw.call("GET", f"/api/v1/datasets/{dataset_id}/privacy-budget")
            return bool(budget.json()["entries"])

        await gw.until(recorded)
        response = await gw.call(
            "POST", PATH, json={"dataset_id": dataset_id, "privacy": {"epsilon": 2.0}}
        )
    body = response.json()
    assert body["ok"] is False
    assert body["remaining_epsilon"] == 1.0
    assert body["reasons"] == [
        "the dataset's privacy budget has ε = 1 left, less than the ε = 2 asked for"
    ]


async def test_unknown_and_unseen_datasets_are_404(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        dataset_id = await _dataset(gw)
        unknown = await gw.call(
            "POST", PATH, json={"dataset_id": str(uuid.uuid4()), "privacy": {"epsilon": 1.0}}
        )
        other_user = await gw.call(
            "POST", PATH, user=BOB, json={"dataset_id": dataset_id, "privacy": {"epsilon": 1.0}}
        )
    assert unknown.status_code == 404, unknown.text
    assert other_user.status_code == 404, other_user.text


async def test_a_method_without_dp_is_refused(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        dataset_id = await _dataset(gw)
        response = await gw.call(
            "POST",
            PATH,
            json={"dataset_id": dataset_id, "method": "ctgan", "privacy": {"epsilon": 1.0}},
        )
    body = response.json()
    assert body["ok"] is False
    assert body["reasons"] == [
        "method 'ctgan' is not differentially private: privacy settings would be ignored; "
        "use a DP method such as 'dp-ctgan'"
    ]


async def test_marginal_methods_need_only_epsilon_and_refuse_dp_sgd_settings(
    tmp_path: Path,
) -> None:
    async with running_gateway(tmp_path) as gw:
        dataset_id = await _dataset(gw)
        plain = await gw.call(
            "POST",
            PATH,
            json={"dataset_id": dataset_id, "method": "aim", "privacy": {"epsilon": 1.0}},
        )
        dp_sgd = await gw.call(
            "POST",
            PATH,
            json={
                "dataset_id": dataset_id,
                "method": "mst",
                "privacy": {"epsilon": 1.0, "max_grad_norm": 1.0},
            },
        )
        created = await gw.call(
            "POST",
            "/api/v1/generators",
            json={
                "dataset_id": dataset_id,
                "method": "aim",
                "privacy": {"epsilon": 1.0, "accountant": "prv"},
            },
        )
    assert plain.json()["ok"] is True, plain.text
    assert plain.json()["delta"] == 1000**-1.5
    body = dp_sgd.json()
    assert body["ok"] is False
    assert body["reasons"] == [
        "method 'mst' measures noisy marginals and accounts in zCDP; 'max_grad_norm' applies "
        "to DP-SGD methods only: drop it"
    ]
    assert created.status_code == 422, created.text
    assert "'accountant' applies to DP-SGD methods only" in created.text
