"""The privacy budget belongs to the data source, not to an upload (finding 11 of issue 16).

Uploading the byte-identical file again gave a fresh budget. Within a project, uploads of the
same bytes share one ledger, and so do uploads their owner labels with one ``source``; the
gateway's read model shows that ledger (fed by the trainer's budget events, which name it) and
refuses a training the shared ledger cannot cover.
"""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import Any

from sds_common.events import PrivacyBudgetReserved, PrivacyBudgetSpent
from sds_common.events.privacy import PrivacyBudgetSpentV1
from tests.unit.gateway.harness import Harness, profiled, running_gateway

TABLE = b"a,b\n1,2\n3,4\n"
SHA_LEDGER = f"sha256:{hashlib.sha256(TABLE).hexdigest()}"


async def _ready(gw: Harness, project_id: str, content: bytes = TABLE, **fields: str) -> str:
    response = await gw.upload(project_id, content, **fields)
    assert response.status_code == 202, response.text
    dataset_id = str(response.json()["id"])
    await gw.publish(profiled(dataset_id), project_id=project_id)
    await gw.until_status(f"/api/v1/datasets/{dataset_id}", "ready")
    return dataset_id


async def _budget(gw: Harness, dataset_id: str) -> dict[str, Any]:
    response = await gw.call("GET", f"/api/v1/datasets/{dataset_id}/privacy-budget")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _charge(gw: Harness, project_id: str, dataset_id: str, ledger: str) -> str:
    """The trainer's events of a training on ``dataset_id`` that spent ε = 3 of 5."""
    generator = uuid.uuid4()
    common: dict[str, Any] = {
        "dataset_id": uuid.UUID(dataset_id),
        "generator_id": generator,
        "ledger": ledger,
        "delta": 1e-6,
    }
    await gw.publish(
        PrivacyBudgetReserved(**common, epsilon=3.0, remaining_epsilon=2.0), project_id=project_id
    )
    await gw.publish(
        PrivacyBudgetSpent(
            **common,
            epsilon=3.0,
            preprocessing_epsilon=0.1,
            accountant="rdp",
            remaining_epsilon=2.0,
        ),
        project_id=project_id,
    )

    async def recorded() -> bool:
        return len((await _budget(gw, dataset_id))["entries"]) == 2

    await gw.until(recorded)
    return str(generator)


async def test_uploading_the_same_bytes_again_shares_the_spent_budget(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        project_id = await gw.create_project()
        first = await _ready(gw, project_id)
        generator = await _charge(gw, project_id, first, SHA_LEDGER)
        again = await _ready(gw, project_id)

        budget = await _budget(gw, again)
        assert budget["ledger"] == SHA_LEDGER
        assert (
            "every upload of the same bytes in its project shares this budget"
            in (budget["explanation"])
        )
        assert [(e["entry"], e["dataset_id"], e["generator_id"]) for e in budget["entries"]] == [
            ("reserved", first, generator),
            ("spent", first, generator),
        ]
        assert budget["totals"] == {
            "spent_epsilon": 3.0,
            "reserved_epsilon": 0.0,
            "remaining_epsilon": 2.0,
        }
        # The re-upload cannot train on a fresh budget: ε = 2.5 is more than the ledger has.
        refused = await gw.call(
            "POST",
            "/api/v1/generators",
            json={"dataset_id": again, "privacy": {"epsilon": 2.5}},
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["code"] == "budget_exhausted"
        assert "has ε = 2 left" in refused.json()["detail"]
        dry_run = await gw.call(
            "POST",
            "/api/v1/privacy/validate",
            json={"dataset_id": again, "privacy": {"epsilon": 1}},
        )
        assert dry_run.json()["remaining_epsilon"] == 2.0


async def test_other_bytes_and_other_projects_have_budgets_of_their_own(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, trainer_epsilon_budget=4.5) as gw:
        project_id = await gw.create_project()
        first = await _ready(gw, project_id)
        await _charge(gw, project_id, first, SHA_LEDGER)
        other_bytes = await _ready(gw, project_id, b"a,b\n5,6\n7,8\n")
        elsewhere = await _ready(gw, await gw.create_project("other"))
        for dataset_id in (other_bytes, elsewhere):
            budget = await _budget(gw, dataset_id)
            assert budget["entries"] == []
            # Untouched: the whole configured total remains.
            assert budget["totals"]["remaining_epsilon"] == 4.5
        assert (await _budget(gw, elsewhere))["ledger"] == SHA_LEDGER  # same name, own project


async def test_uploads_labelled_with_one_source_share_its_ledger(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        project_id = await gw.create_project()
        first = await _ready(gw, project_id, source=" admissions 2024 ")
        shown = (await gw.call("GET", f"/api/v1/datasets/{first}")).json()
        assert shown["source"] == "admissions 2024"

        async def announced() -> bool:
            return bool(gw.emitted("datasets", "DatasetUploaded"))

        await gw.until(announced)
        uploaded = gw.emitted("datasets", "DatasetUploaded")[0]
        assert uploaded.payload["source"] == "admissions 2024"

        await _charge(gw, project_id, first, "source:admissions 2024")
        extract = await _ready(gw, project_id, b"a,b\n9,9\n8,8\n", source="admissions 2024")
        budget = await _budget(gw, extract)
        assert budget["ledger"] == "source:admissions 2024"
        assert budget["totals"]["remaining_epsilon"] == 2.0
        assert "a new extract of the same people does not reset it" in budget["explanation"]


async def test_relabelling_a_file_does_not_open_a_fresh_budget(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        project_id = await gw.create_project()
        first = await _ready(gw, project_id)
        await _charge(gw, project_id, first, SHA_LEDGER)
        relabelled = await _ready(gw, project_id, source="a new name")
        budget = await _budget(gw, relabelled)
        assert budget["ledger"] == SHA_LEDGER
        assert budget["totals"]["remaining_epsilon"] == 2.0


async def test_a_source_must_be_a_short_printable_label(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        project_id = await gw.create_project()
        for bad, fragment in (
            ("x" * 101, "at most 100"),
            ("line\nbreak", "non-printable"),
            ("tab\there", "non-printable"),
        ):
            response = await gw.upload(project_id, source=bad)
            assert response.status_code == 422, (bad, response.text)
            assert response.json()["code"] == "invalid_source"
            assert fragment in response.json()["detail"]
        listed = (await gw.call("GET", f"/api/v1/datasets?project_id={project_id}")).json()
        assert listed["items"] == []


async def test_version_1_budget_events_still_count_for_their_dataset(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        project_id = await gw.create_project()
        dataset_id = await _ready(gw, project_id)
        await gw.publish(
            PrivacyBudgetSpentV1(
                dataset_id=uuid.UUID(dataset_id),
                generator_id=uuid.uuid4(),
                epsilon=1.0,
                delta=1e-6,
                preprocessing_epsilon=0.0,
                accountant="rdp",
                remaining_epsilon=4.0,
            ),
            project_id=project_id,
        )

        async def recorded() -> bool:
            return bool((await _budget(gw, dataset_id))["entries"])

        await gw.until(recorded)
        budget = await _budget(gw, dataset_id)
        assert budget["ledger"] == f"dataset:{dataset_id}"  # the upcast names its own ledger
        assert budget["totals"]["spent_epsilon"] == 1.0
