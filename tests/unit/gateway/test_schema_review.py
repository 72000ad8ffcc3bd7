"""The schema review: ``GET /datasets/{id}/schema`` and ``PUT /datasets/{id}/public-metadata``.

The proposal is stored by the datasets service beside the profile; the gateway shows it to the
dataset's owners (members with write access) and accepts a declaration only if every value in it
was shown by the proposal, or is a wider bound or an extra category the owner typed (which then
cannot come from the data: a proposed category list is complete).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sds_common.events import DatasetProfiled, Envelope
from sds_common.events.datasets import ColumnSummary
from sds_common.tables.formats import ColumnFormat
from sds_common.tables.public_metadata import ColumnProposal, RareCategory, SchemaProposal
from tests.unit.gateway.harness import ALICE, BOB, CAROL, Harness, running_gateway

PROPOSAL = SchemaProposal(
    n_rows=500,
    target_column="label",
    target_classes="declared public by default; opt out with target_classes_public",
    columns=(
        ColumnProposal(name="age", kind="numeric", bounds=(0, 100)),
        ColumnProposal(
            name="city",
            kind="categorical",
            categories=("Lyon", "Nice", "Paris"),
            rare=(RareCategory(value="Nice", rows=4),),
        ),
        ColumnProposal(
            name="visit",
            kind="datetime",
            bounds=(datetime(2019, 1, 1, tzinfo=UTC), datetime(2022, 1, 1, tzinfo=UTC)),
        ),
        ColumnProposal(name="email", kind="identifier", note="may hold personal data (email)"),
        ColumnProposal(name="salary", kind="numeric", note="may hold personal data (iban)"),
        ColumnProposal(
            name="zip", kind="categorical", note="300 distinct values: none is proposed"
        ),
        ColumnProposal(name="label", kind="categorical", target=True, categories=("no", "yes")),
    ),
)
KINDS = {c.name: c.kind for c in PROPOSAL.columns}


async def _dataset(gw: Harness, *, proposal: SchemaProposal | None = PROPOSAL) -> tuple[str, str]:
    """A ready dataset of a new project of Alice's, its proposal stored beside its profile."""
    project_id = await gw.create_project()
    response = await gw.upload(project_id, target_column="label")
    assert response.status_code == 202, response.text
    dataset_id = response.json()["id"]
    base = f"datasets/{dataset_id}"
    if proposal is not None:
        await gw.storage.put_bytes(
            f"{base}/schema-proposal.json", proposal.model_dump_json().encode()
        )
    columns = tuple(
        ColumnSummary(
            name=name,
            kind=kind,
            missing_fraction=0.25 if name == "city" else 0.0,
            distinct=3,
            pii={"email": ("email",), "salary": ("iban",)}.get(name, ()),
            format=ColumnFormat(dtype="Int64") if name == "age" else None,
        )
        for name, kind in KINDS.items()
    )
    await gw.publish(
        DatasetProfiled(
            dataset_id=uuid.UUID(dataset_id),
            n_rows=500,
            n_columns=len(columns),
            columns=columns,
            profile_key=f"{base}/profile.json",
            table_key=f"{base}/table.parquet",
            train_key=f"{base}/train.parquet",
            holdout_key=f"{base}/holdout.parquet",
            holdout_rows=100,
            target_column="label",
        ),
        project_id=project_id,
    )
    await gw.until_status(f"/api/v1/datasets/{dataset_id}", "ready")
    return project_id, dataset_id


def _accept_all() -> dict[str, Any]:
    return PROPOSAL.accepted().model_dump(mode="json")


async def _put(gw: Harness, dataset_id: str, body: dict[str, Any], **kwargs: Any) -> Any:
    return await gw.call(
        "PUT", f"/api/v1/datasets/{dataset_id}/public-metadata", json=body, **kwargs
    )


async def _declared(gw: Harness) -> list[Envelope]:
    return gw.emitted("privacy", "PublicMetadataDeclared")


async def test_the_schema_shows_the_inferred_schema_and_the_proposal(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        _, dataset_id = await _dataset(gw)
        response = await gw.call("GET", f"/api/v1/datasets/{dataset_id}/schema")
        assert response.status_code == 200, response.text
        body = response.json()
        columns = {c["name"]: c for c in body["columns"]}
        assert columns["age"]["kind"] == "numeric"
        assert columns["age"]["format"]["dtype"] == "Int64"
        assert columns["city"]["missing_fraction"] == 0.25
        assert columns["email"]["pii"] == ["email"]
        assert columns["label"]["target"] is True
        # The whole stored proposal is what is shown: nothing held back, nothing added.
        assert SchemaProposal.model_validate(body["proposal"]) == PROPOSAL
        assert body["declaration"] is None
        assert "public-metadata" in body["how_to_accept"]


async def test_only_members_with_write_access_see_the_proposal(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        project_id, dataset_id = await _dataset(gw)
        await gw.add_member(project_id, BOB, role="viewer")
        await gw.add_member(project_id, CAROL, role="editor")
        path = f"/api/v1/datasets/{dataset_id}/schema"
        assert (await gw.call("GET", path, user=BOB)).status_code == 403
        assert (await gw.call("GET", path, user=CAROL)).status_code == 200
        stranger = ("dave", "dave@example.com", "user")
        assert (await gw.call("GET", path, user=stranger)).status_code == 404
        assert (await _put(gw, dataset_id, _accept_all(), user=BOB)).status_code == 403
        _, read_key = await gw.api_key(project_id, access="read")
        assert (await gw.call("GET", path, api_key=read_key)).status_code == 403


async def test_a_dataset_profiled_before_proposals_existed_has_none(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        _, dataset_id = await _dataset(gw, proposal=None)
        response = await gw.call("GET", f"/api/v1/datasets/{dataset_id}/schema")
        assert response.status_code == 409, response.text
        assert response.json()["code"] == "no_schema_proposal"


async def test_accepting_the_proposal_is_announced_and_shown(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        project_id, dataset_id = await _dataset(gw)
        response = await _put(gw, dataset_id, _accept_all())
        assert response.status_code == 200, response.text
        declared = response.json()
        assert declared["version"] == 1
        assert declared["declared_by"] == ALICE[0]
        assert set(declared["columns"]) == set(KINDS)

        async def announced() -> bool:
            return len(await _declared(gw)) == 1

        await gw.until(announced)
        (envelope,) = await _declared(gw)
        assert envelope.actor == ALICE[0]
        assert envelope.project_id == project_id
        payload: dict[str, Any] = envelope.payload
        assert payload["dataset_id"] == dataset_id
        assert payload["declaration_version"] == 1
        assert payload["columns"]["age"]["bounds"] == [0.0, 100.0]
        assert payload["target_classes_public"] is True

        # The same declaration again changes nothing (PUT is idempotent).
        again = await _put(gw, dataset_id, _accept_all())
        assert again.status_code == 200
        assert again.json()["version"] == 1
        shown = (await gw.call("GET", f"/api/v1/datasets/{dataset_id}/schema")).json()
        assert shown["declaration"]["version"] == 1
        assert shown["declaration"]["columns"]["city"]["categories"] == ["Lyon", "Nice", "Paris"]

        # Some columns only, wider bounds and an extra category the owner typed: accepted.
        some = {
            "columns": {
                "age": {"kind": "numeric", "bounds": [-10, 150]},
                "city": {"kind": "categorical", "categories": ["Lyon", "Paris", "Marseille"]},
                "visit": {"kind": "datetime", "bounds": ["2000-01-01", "2030-01-01T00:00:00Z"]},
            },
            "target_classes_public": False,
        }
        response = await _put(gw, dataset_id, some)
        assert response.status_code == 200, response.text
        assert response.json()["version"] == 2
        assert response.json()["target_classes_public"] is False

        async def both() -> bool:
            return len(await _declared(gw)) == 2

        await gw.until(both)


async def test_a_value_the_proposal_did_not_show_is_refused(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        _, dataset_id = await _dataset(gw)
        refused: dict[str, dict[str, Any]] = {
            # The exact extremes (from the profile, say) instead of the rounded bounds shown.
            "narrower bounds": {"age": {"kind": "numeric", "bounds": [17, 90]}},
            "one bound inside": {"age": {"kind": "numeric", "bounds": [0, 90]}},
            "a later first year": {
                "visit": {"kind": "datetime", "bounds": ["2019-03-01", "2022-01-01"]}
            },
            "categories of a column the proposal lists none for": {
                "zip": {"kind": "categorical", "categories": ["69001", "75011"]}
            },
            "bounds of a column whose values are withheld": {
                "salary": {"kind": "numeric", "bounds": [0, 1_000_000]}
            },
            "another kind than the profiled one": {"email": {"kind": "categorical"}},
            "a column that does not exist": {"ghost": {"kind": "numeric", "bounds": [0, 1]}},
        }
        for what, columns in refused.items():
            response = await _put(gw, dataset_id, {"columns": columns})
            assert response.status_code == 422, (what, response.text)
            problem = response.json()
            assert problem["code"] == "undeclarable_metadata", (what, problem)
            assert str(next(iter(columns))) in problem["detail"], (what, problem)
        narrower = await _put(gw, dataset_id, {"columns": refused["narrower bounds"]})
        assert "do not contain the proposed 0 to 100" in narrower.json()["detail"]
        # Opting out of the target's classes while declaring them is a contradiction.
        contradiction = {
            "columns": {"label": {"kind": "categorical", "categories": ["no", "yes"]}},
            "target_classes_public": False,
        }
        response = await _put(gw, dataset_id, contradiction)
        assert response.status_code == 422, response.text
        assert "label" in response.json()["detail"]
        # Nothing refused was declared or announced.
        shown = (await gw.call("GET", f"/api/v1/datasets/{dataset_id}/schema")).json()
        assert shown["declaration"] is None
        assert await _declared(gw) == []


async def test_a_training_names_the_declaration_in_force(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        _, dataset_id = await _dataset(gw)
        train = {"dataset_id": dataset_id, "privacy": {"epsilon": 1.0}}
        before = await gw.call("POST", "/api/v1/generators", json=train)
        assert before.status_code == 202, before.text
        assert (await _put(gw, dataset_id, _accept_all())).status_code == 200
        after = await gw.call("POST", "/api/v1/generators", json=train)
        assert after.status_code == 202, after.text

        async def both() -> bool:
            return len(gw.emitted("training", "TrainingRequested")) == 2

        await gw.until(both)
        versions = {
            e.payload["generator_id"]: e.payload.get("public_metadata_version")
            for e in gw.emitted("training", "TrainingRequested")
        }
        assert versions == {before.json()["id"]: None, after.json()["id"]: 1}
