"""Validation at the door: a request the trainer would refuse is refused before it is queued.

Findings 4 and 8 of issue 16: non-finite numbers (``1e999``, ``Infinity``, ``NaN``) and loosely
typed fields (``"100"``, ``true``) were accepted and echoed as ``null`` or coerced; an unknown
method, ε above the cap, δ ≥ 1/n, bad parameters and conditions on unknown columns all got 202
and then a failed job. Each case here must answer 422 problem JSON listing the reasons, and
nothing may be recorded or emitted.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from sds_common.events import ModelTrained
from tests.unit.gateway.harness import Harness, running_gateway

#: Training rows of the harness dataset (it holds out a fifth).
ROWS = 1250
TRAIN_ROWS = 1000


async def _dataset(gw: Harness) -> str:
    return await gw.ready_dataset(await gw.create_project(), n_rows=ROWS)


async def _post_raw(gw: Harness, path: str, body: str) -> Any:
    return await gw.call(
        "POST", path, content=body.encode(), headers={"Content-Type": "application/json"}
    )


async def _nothing_queued(gw: Harness, dataset_id: str) -> None:
    listed = (await gw.call("GET", f"/api/v1/generators?dataset_id={dataset_id}")).json()
    assert listed["items"] == []
    assert gw.emitted("training", "TrainingRequested") == []


def _problem(response: Any, *, code: str) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


@pytest.mark.parametrize(
    "epsilon", ["1e999", "-1e999", "Infinity", "NaN"], ids=["1e999", "-1e999", "inf", "nan"]
)
async def test_non_finite_numbers_are_refused_not_echoed_as_null(
    tmp_path: Path, epsilon: str
) -> None:
    async with running_gateway(tmp_path) as gw:
        dataset_id = await _dataset(gw)
        body = '{"dataset_id": "%s", "privacy": {"epsilon": %s}}' % (dataset_id, epsilon)  # noqa: UP031
        refused = _problem(await _post_raw(gw, "/api/v1/generators", body), code="validation_error")
        assert "privacy.epsilon" in refused["detail"]
        params = '{"dataset_id": "%s", "privacy": {"epsilon": 1}, "params": {"x": [%s]}}' % (  # noqa: UP031
            dataset_id,
            epsilon,
        )
        _problem(await _post_raw(gw, "/api/v1/generators", params), code="validation_error")
        dry_run = '{"dataset_id": "%s", "privacy": {"epsilon": %s}}' % (dataset_id, epsilon)  # noqa: UP031
        _problem(await _post_raw(gw, "/api/v1/privacy/validate", dry_run), code="validation_error")
        await _nothing_queued(gw, dataset_id)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("rows", "100"),
        ("rows", True),
        ("rows", 100.0),
        ("seed", "7"),
        ("seed", False),
    ],
)
async def test_sample_fields_are_strictly_typed(tmp_path: Path, field: str, value: Any) -> None:
    async with running_gateway(tmp_path) as gw:
        generator_id = await _trained_generator(gw)
        response = await gw.call(
            "POST", f"/api/v1/generators/{generator_id}/samples", json={field: value}
        )
        refused = _problem(response, code="validation_error")
        assert field in refused["detail"]
        assert gw.emitted("training", "GenerationRequested") == []


async def test_request_bodies_are_strictly_typed(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        dataset_id = await _dataset(gw)
        for body in (
            {"dataset_id": dataset_id, "privacy": {"epsilon": "1"}},
            {"dataset_id": dataset_id, "privacy": {"epsilon": True}},
            {"dataset_id": dataset_id, "method": "ctgan", "allow_non_dp": "yes"},
            {"dataset_id": dataset_id, "method": "ctgan", "allow_non_dp": 1},
        ):
            _problem(
                await gw.call("POST", "/api/v1/generators", json=body), code="validation_error"
            )
        project = await gw.call("POST", "/api/v1/projects", json={"name": 5})
        _problem(project, code="validation_error")
        # Enumerations still take their JSON spelling.
        assert (await gw.call("POST", "/api/v1/projects", json={"name": "ok"})).status_code == 201
        await _nothing_queued(gw, dataset_id)


@pytest.mark.parametrize(
    ("body", "code", "fragments"),
    [
        (
            {"method": "gan", "privacy": {"epsilon": 1.0}},
            "unknown_method",
            ["unknown method 'gan'", "valid methods: aim, auto, ctgan, dp-ctgan, mst"],
        ),
        (
            {"privacy": {"epsilon": 1e9}},
            "invalid_privacy",
            ["ε = 1e+09 is above the policy cap of 5", "SDS_TRAINER_EPSILON_CAP"],
        ),
        (
            {"privacy": {"epsilon": 1.0, "delta": 0.5}},
            "invalid_privacy",
            ["δ = 0.5 is not far below 1/n = 0.001"],
        ),
        (
            {"privacy": {"epsilon": 1.0}, "params": {"epochs": -5}},
            "invalid_params",
            ["params.epochs", "greater than or equal to 1", "got -5"],
        ),
        (
            {"privacy": {"epsilon": 1.0}, "params": {"batch_size": 0}},
            "invalid_params",
            ["params.batch_size", "greater than or equal to 2"],
        ),
        (
            {"privacy": {"epsilon": 1.0}, "params": {"batch_size": 5000}},
            "invalid_params",
            [f"batch_size = 5000 exceeds the dataset's {TRAIN_ROWS} training rows"],
        ),
        (
            {"privacy": {"epsilon": 1.0}, "params": {"epochs": "3"}},
            "invalid_params",
            ["params.epochs", "valid integer"],
        ),
        (
            {"privacy": {"epsilon": 1.0}, "params": {"learning_rate": 0.1}},
            "invalid_params",
            ["unknown parameter 'learning_rate' for method 'dp-ctgan'", "epochs"],
        ),
        (
            {"method": "aim", "privacy": {"epsilon": 1.0}, "params": {"epochs": 3}},
            "invalid_params",
            ["unknown parameter 'epochs' for method 'aim'"],
        ),
        (
            {"privacy": {"epsilon": 1.0}, "params": {"seed": "1"}},
            "invalid_params",
            ["params.seed"],
        ),
        (
            {
                "privacy": {"epsilon": 1.0},
                "params": {"public_metadata": {"nope": {"bounds": [0, 1]}}},
            },
            "invalid_public_metadata",
            ["unknown column 'nope'", "'a', 'b'"],
        ),
        (
            {
                "privacy": {"epsilon": 1.0},
                "params": {"public_metadata": {"a": {"bounds": [5, 1]}}},
            },
            "invalid_public_metadata",
            ["params.public_metadata.a", "low < high"],
        ),
        (
            {
                "privacy": {"epsilon": 1.0},
                "params": {"public_metadata": {"b": {"categories": ["x", "x"]}}},
            },
            "invalid_public_metadata",
            ["categories repeat a value", "categories apply to categorical"],
        ),
    ],
    ids=[
        "unknown-method",
        "epsilon-above-cap",
        "delta-half",
        "epochs-negative",
        "batch-zero",
        "batch-over-rows",
        "epochs-string",
        "unknown-parameter",
        "epochs-for-aim",
        "seed-string",
        "metadata-unknown-column",
        "metadata-bounds-reversed",
        "metadata-categories",
    ],
)
async def test_what_the_trainer_would_refuse_is_refused_before_anything_is_queued(
    tmp_path: Path, body: dict[str, Any], code: str, fragments: list[str]
) -> None:
    async with running_gateway(tmp_path) as gw:
        dataset_id = await _dataset(gw)
        response = await gw.call(
            "POST", "/api/v1/generators", json={"dataset_id": dataset_id, **body}
        )
        refused = _problem(response, code=code)
        for fragment in fragments:
            assert fragment in refused["detail"], refused
        assert refused["errors"], refused
        assert all(e["type"] == code for e in refused["errors"])
        await _nothing_queued(gw, dataset_id)


async def test_every_reason_is_listed_in_one_answer(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        dataset_id = await _dataset(gw)
        response = await gw.call(
            "POST",
            "/api/v1/generators",
            json={
                "dataset_id": dataset_id,
                "privacy": {"epsilon": 1e9, "delta": 0.5},
                "params": {"epochs": -5, "batch_size": 0, "typo": 1},
            },
        )
        refused = _problem(response, code="invalid_request")
        where = [".".join(map(str, e["loc"])) for e in refused["errors"]]
        assert where == [
            "body.params.epochs",
            "body.params.batch_size",
            "body.params.typo",
            "body.privacy",
            "body.privacy",
        ]
        await _nothing_queued(gw, dataset_id)


async def test_a_budget_the_ledger_cannot_cover_is_refused_at_the_door(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        dataset_id = await _dataset(gw)
        response = await gw.call(
            "POST",
            "/api/v1/generators",
            json={"dataset_id": dataset_id, "privacy": {"epsilon": 5.0}},
        )
        assert response.status_code == 202, response.text
        await gw.publish(_reserved(dataset_id, response.json()["id"], epsilon=5.0))

        async def reserved() -> bool:
            budget = await gw.call("GET", f"/api/v1/datasets/{dataset_id}/privacy-budget")
            return bool(budget.json()["entries"])

        await gw.until(reserved)
        again = await gw.call(
            "POST", "/api/v1/generators", json={"dataset_id": dataset_id, "privacy": {"epsilon": 1}}
        )
        refused = _problem(again, code="budget_exhausted")
        assert "has ε = 0 left, less than the ε = 1 asked for" in refused["detail"]


async def test_conditions_are_checked_against_the_profiled_schema(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        generator_id = await _trained_generator(gw)
        path = f"/api/v1/generators/{generator_id}/samples"
        unknown = _problem(
            await gw.call("POST", path, json={"conditions": {"nope": "x"}}),
            code="invalid_conditions",
        )
        assert "unknown column 'nope'" in unknown["detail"]
        numeric = _problem(
            await gw.call("POST", path, json={"conditions": {"a": 1}}), code="invalid_conditions"
        )
        assert "categorical or boolean columns; 'a' is numeric" in numeric["detail"]
        nested = _problem(
            await gw.call("POST", path, json={"conditions": {"c": {"x": 1}}}),
            code="invalid_conditions",
        )
        assert "a string, number or boolean" in nested["detail"]
        two = _problem(
            await gw.call("POST", path, json={"conditions": {"c": "x", "d": True}}),
            code="invalid_conditions",
        )
        assert "conditions on at most 1 column(s); 2 were given" in two["detail"]
        assert gw.emitted("training", "GenerationRequested") == []
        fine = await gw.call("POST", path, json={"conditions": {"c": "x"}, "rows": 10})
        assert fine.status_code == 202, fine.text

        async def emitted() -> bool:
            return len(gw.emitted("training", "GenerationRequested")) == 1

        await gw.until(emitted)


def _reserved(dataset_id: str, generator_id: str, *, epsilon: float) -> Any:
    from sds_common.events import PrivacyBudgetReserved  # noqa: PLC0415

    return PrivacyBudgetReserved(
        dataset_id=uuid.UUID(dataset_id),
        generator_id=uuid.UUID(generator_id),
        ledger=f"dataset:{dataset_id}",
        epsilon=epsilon,
        delta=1e-6,
        remaining_epsilon=5.0 - epsilon,
    )


async def _trained_generator(gw: Harness) -> str:
    """A succeeded dp-ctgan generator on a dataset with numeric and categorical columns."""
    from tests.unit.gateway.harness import profiled  # noqa: PLC0415

    project_id = await gw.create_project()
    upload = await gw.upload(project_id)
    dataset_id = upload.json()["id"]
    await gw.publish(
        profiled(dataset_id, n_rows=ROWS, extra={"c": "categorical", "d": "boolean"}),
        project_id=project_id,
    )
    await gw.until_status(f"/api/v1/datasets/{dataset_id}", "ready")
    created = await gw.call(
        "POST", "/api/v1/generators", json={"dataset_id": dataset_id, "privacy": {"epsilon": 1}}
    )
    assert created.status_code == 202, created.text
    generator_id = str(created.json()["id"])
    await gw.publish(
        ModelTrained(
            generator_id=uuid.UUID(generator_id),
            dataset_id=uuid.UUID(dataset_id),
            model_key=f"models/{generator_id}/model.bin",
            method="dp-ctgan",
            epsilon=0.9,
            delta=1e-6,
            epochs=1,
            duration_s=1.0,
        )
    )
    await gw.until_status(f"/api/v1/generators/{generator_id}", "succeeded")
    return generator_id
