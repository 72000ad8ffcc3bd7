"""Declared public metadata in the audit trail and in a generator's compliance outputs.

The acceptance of a schema review is an audited event (``PublicMetadataDeclared``, by its
declarer); the privacy report and the model card of a generator trained after it state that the
guarantee holds GIVEN that declaration, naming who declared what and when, and only the
declaration the training used.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from sds_common.events import (
    ColumnSummary,
    DatasetProfiled,
    DatasetUploaded,
    Envelope,
    ModelTrained,
    PrivacyBudgetSpent,
    PrivacySpec,
    PublicMetadataDeclared,
    TrainingRequested,
)
from sds_common.tables.public_metadata import DeclaredColumn
from tests.unit.audit.harness import AuditHarness, running_audit

D = uuid.uuid4()
PROJECT = "project-1"


def _column(name: str, kind: Any) -> ColumnSummary:
    return ColumnSummary(name=name, kind=kind, missing_fraction=0, distinct=3)


async def _dataset(audit: AuditHarness) -> list[Envelope]:
    uploaded = DatasetUploaded(
        dataset_id=D,
        name="visits",
        object_key=f"datasets/{D}/raw/v.csv",
        filename="v.csv",
        format="csv",
        size_bytes=10,
        sha256="0" * 64,
        target_column="label",
    )
    profiled = DatasetProfiled(
        dataset_id=D,
        n_rows=100,
        n_columns=4,
        columns=(
            _column("age", "numeric"),
            _column("city", "categorical"),
            _column("income", "numeric"),
            _column("label", "categorical"),
        ),
        profile_key="p",
        table_key="t",
        train_key="tr",
        holdout_key="h",
        holdout_rows=20,
        target_column="label",
    )
    first = PublicMetadataDeclared(
        dataset_id=D,
        declaration_version=1,
        columns={
            "age": DeclaredColumn(kind="numeric", bounds=(0, 100)),
            "city": DeclaredColumn(kind="categorical", categories=("Lyon", "Paris")),
        },
    )
    second = PublicMetadataDeclared(
        dataset_id=D,
        declaration_version=2,
        columns={"age": DeclaredColumn(kind="numeric", bounds=(0, 200))},
        target_classes_public=False,
    )
    return [
        await _publish(audit, uploaded, "alice"),
        await _publish(audit, profiled, "datasets"),
        await _publish(audit, first, "alice"),
        await _publish(audit, second, "carol"),
    ]


async def _publish(audit: AuditHarness, event: Any, actor: str, **wrap: Any) -> Envelope:
    before = await audit.count()
    envelope = await audit.publish(event, actor=actor, project_id=PROJECT, **wrap)
    await audit.until_count(before + 1)
    return envelope


async def _trained(
    audit: AuditHarness, *, version: int | None, params: dict[str, Any] | None = None
) -> uuid.UUID:
    generator_id = uuid.uuid4()
    trainer = {"correlation_id": str(generator_id)}
    request = TrainingRequested(
        generator_id=generator_id,
        dataset_id=D,
        method="aim",
        params=params or {},
        privacy=PrivacySpec(epsilon=1.0),
        public_metadata_version=version,
    )
    await _publish(audit, request, "bob")
    trained = ModelTrained(
        generator_id=generator_id,
        dataset_id=D,
        model_key="m",
        method="aim",
        epsilon=1.0,
        delta=1e-6,
        epochs=0,
        duration_s=1.0,
    )
    await _publish(audit, trained, "trainer", **trainer)
    spent = PrivacyBudgetSpent(
        dataset_id=D,
        generator_id=generator_id,
        epsilon=1.0,
        delta=1e-6,
        preprocessing_epsilon=0.1,
        accountant="zcdp",
        remaining_epsilon=9.0,
    )
    await _publish(audit, spent, "trainer", **trainer)
    return generator_id


async def _get(audit: AuditHarness, path: str, **params: str) -> Any:
    response = await audit.call("GET", f"/api/v1/audit{path}", params=params)
    assert response.status_code == 200, response.text
    return response.json() if "json" in response.headers["content-type"] else response.text


async def test_a_declaration_is_in_the_audit_trail(tmp_path: Path) -> None:
    async with running_audit(tmp_path) as audit:
        await _dataset(audit)
        page = await _get(audit, "/events", event_type="PublicMetadataDeclared")
        records = page["items"]
        assert [(r["actor"], r["payload"]["declaration_version"]) for r in records] == [
            ("alice", 1),
            ("carol", 2),
        ]
        assert records[0]["resource_type"] == "dataset"
        assert records[0]["resource_id"] == str(D)
        assert records[0]["payload"]["columns"]["age"]["bounds"] == [0.0, 100.0]
        assert records[1]["privacy"] == {"declaration_version": 2, "target_classes_public": False}


async def test_the_reports_name_who_declared_what_and_when(tmp_path: Path) -> None:
    async with running_audit(tmp_path) as audit:
        envelopes = await _dataset(audit)
        requested = {"income": {"bounds": [0, 500_000]}}
        generator_id = await _trained(audit, version=1, params={"public_metadata": requested})
        report = await _get(audit, f"/generators/{generator_id}/privacy-report")
        history = report["history"]
        declared = history["public_metadata"]
        when = f"{envelopes[2].occurred_at:%Y-%m-%d %H:%M}"
        assert [(d["source"], d["declared_by"]) for d in declared] == [
            ("schema review", "alice"),
            ("training request", "bob"),
            ("target at upload", "alice"),
        ]
        assert declared[0]["version"] == 1
        assert declared[0]["columns"] == [
            "age: kind numeric, bounds 0 to 100",
            "city: kind categorical, 2 categories",
        ]
        assert declared[1]["columns"] == ["income: bounds 0 to 500,000"]
        assert declared[2]["columns"] == ["label: its classes"]
        given = history["guarantee"]["given"]
        assert given.startswith("The guarantee holds given")
        for part in (
            "declaration 1 of the schema review, by alice on " + when,
            "age: kind numeric, bounds 0 to 100",
            "in the training request, by bob",
            "the classes of the target column 'label'",
        ):
            assert part in given, (part, given)
        assert "carol" not in given  # declaration 2 came later: this training did not use it
        # The trail carries both declarations of the dataset; the summary says who did what.
        summaries = [i["summary"] for i in history["trail"]]
        assert "alice declared public metadata of 2 column(s) (declaration 1)" in summaries
        compliance = {c["reference"]: c["evidence"] for c in report["compliance"]}
        assert given in compliance["Art. 4(1), 4(5), Recital 26"]
        art30 = {f["label"]: f["value"] for f in report["record_of_processing"]}
        assert "declared public metadata" in art30["Processing operations"]

        page = await _get(audit, f"/generators/{generator_id}/privacy-report", format="html")
        assert "declaration 1 of the schema review, by alice" in page
        card = await _get(audit, f"/generators/{generator_id}/model-card")
        facts = {f["label"]: f["value"] for f in card["training_data"]}
        shown = facts["Declared public metadata (no ε spent)"]
        assert f"schema review declaration 1 by alice on {when} UTC" in shown
        assert "training request by bob" in shown
        privacy = {f["label"]: f["value"] for f in card["privacy"]}
        assert privacy["Holds given"] == given


async def test_an_opt_out_and_no_review(tmp_path: Path) -> None:
    async with running_audit(tmp_path) as audit:
        await _dataset(audit)
        opted_out = await _trained(audit, version=2)
        report = await _get(audit, f"/generators/{opted_out}/privacy-report")
        declared = report["history"]["public_metadata"]
        assert [(d["source"], d["declared_by"]) for d in declared] == [("schema review", "carol")]
        assert "target column" not in report["history"]["guarantee"]["given"]

        # No review: only the target's classes, public by default since the upload.
        unreviewed = await _trained(audit, version=None)
        report = await _get(audit, f"/generators/{unreviewed}/privacy-report")
        declared = report["history"]["public_metadata"]
        assert [d["source"] for d in declared] == ["target at upload"]

        # A declaration the log does not hold is named, and said to be missing.
        missing = await _trained(audit, version=7)
        report = await _get(audit, f"/generators/{missing}/privacy-report")
        (review, _) = report["history"]["public_metadata"]
        assert (review["version"], review["recorded"]) == (7, False)
        assert "NOT in the audit log" in report["history"]["guarantee"]["given"]
