"""``GET /api/v1/datasets/{id}/privacy-budget``: what is left, before and after a training."""

from __future__ import annotations

import uuid
from pathlib import Path

from sds_common.events import PrivacyBudgetReserved
from tests.unit.gateway.harness import running_gateway


async def test_before_any_training_the_whole_configured_budget_remains(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, trainer_epsilon_budget=7.5) as gw:
        dataset_id = await gw.ready_dataset(await gw.create_project())
        budget = await gw.call("GET", f"/api/v1/datasets/{dataset_id}/privacy-budget")
        dry_run = await gw.call(
            "POST",
            "/api/v1/privacy/validate",
            json={"dataset_id": dataset_id, "privacy": {"epsilon": 1.0}},
        )
    assert budget.status_code == 200, budget.text
    assert budget.json()["entries"] == []
    assert budget.json()["totals"] == {
        "spent_epsilon": 0.0,
        "reserved_epsilon": 0.0,
        "remaining_epsilon": 7.5,
    }
    # The dry run of a training states the same remaining budget.
    assert dry_run.json()["remaining_epsilon"] == 7.5


async def test_after_a_reservation_the_trainers_remaining_figure_is_shown(
    tmp_path: Path,
) -> None:
    async with running_gateway(tmp_path, trainer_epsilon_budget=7.5) as gw:
        project_id = await gw.create_project()
        dataset_id = await gw.ready_dataset(project_id)
        await gw.publish(
            PrivacyBudgetReserved(
                dataset_id=uuid.UUID(dataset_id),
                generator_id=uuid.uuid4(),
                ledger=f"dataset:{dataset_id}",
                epsilon=2.0,
                delta=1e-6,
                remaining_epsilon=5.5,
            ),
            project_id=project_id,
        )

        path = f"/api/v1/datasets/{dataset_id}/privacy-budget"

        async def recorded() -> bool:
            return bool((await gw.call("GET", path)).json()["entries"])

        await gw.until(recorded)
        budget = (await gw.call("GET", path)).json()
    assert budget["totals"] == {
        "spent_epsilon": 0.0,
        "reserved_epsilon": 2.0,
        "remaining_epsilon": 5.5,
    }
