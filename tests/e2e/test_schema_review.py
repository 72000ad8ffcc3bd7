"""The schema review end to end on the embedded studio: ``sds schema --accept``, then training.

upload → profiled (with its proposal) → ``sds schema DATASET --accept`` (the CLI, as a user types
it) → ``PublicMetadataDeclared`` in the audit log → ``mst`` at ε = 1 treats the accepted bounds and
categories as public metadata (no ε for them) → the privacy report says the guarantee holds given
them, naming who declared them and when.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sds_common.storage import LocalObjectStore
from sds_studio.cli import app
from sds_studio.client import StudioClient, StudioError
from sds_trainer.adapters.models import privacy_report_key
from tests.e2e.conftest import Studio

pytestmark = pytest.mark.slow


async def _audit_records(admin: StudioClient, event_type: str, count: int) -> list[Any]:
    """The audit log's records of ``event_type`` once ``count`` are there (it consumes async)."""
    deadline = time.monotonic() + 30
    while True:
        page = await admin.get(f"/audit/events?event_type={event_type}")
        if len(page["items"]) >= count or time.monotonic() > deadline:
            return list(page["items"])
        await asyncio.sleep(0.1)


async def _privacy_report(admin: StudioClient, generator_id: str) -> dict[str, Any]:
    """The generator's privacy report once the audit log holds its whole training."""
    deadline = time.monotonic() + 30
    path = f"/audit/generators/{generator_id}/privacy-report"
    while True:
        try:
            report = await admin.get(path)
        except StudioError:  # not recorded yet
            report = {}
        spent = report.get("history", {}).get("guarantee", {}).get("in_force")
        if spent or time.monotonic() > deadline:
            return report
        await asyncio.sleep(0.1)


async def test_accepting_the_proposal_makes_it_public_metadata_of_the_next_training(
    studio: Studio,
    embedded: StudioClient,
    embedded_admin: StudioClient,
    small_adult: Path,
    tmp_path: Path,
) -> None:
    client = embedded
    project = await client.create_project("review")
    dataset = await client.upload(small_adult, project_id=project["id"], target="income")
    dataset = await client.wait(f"/datasets/{dataset['id']}")
    assert dataset["status"] == "ready", dataset

    schema = await client.get(f"/datasets/{dataset['id']}/schema")
    proposed = {c["name"]: c for c in schema["proposal"]["columns"]}
    assert proposed["age"]["bounds"] == [0.0, 100.0]
    assert proposed["income"]["target"] is True
    assert schema["declaration"] is None

    # As a user types it; the CLI signs as the same user as ``embedded``.
    env = {"SDS_AUTH_SECRET": studio.secret, "SDS_USER_ID": "alice"}
    args = ["schema", dataset["id"], "--accept", "--url", studio.url]
    result = await asyncio.to_thread(CliRunner().invoke, app, args, env=env)
    assert result.exit_code == 0, result.output
    assert "In force: declaration 1 by alice" in result.output

    (record,) = await _audit_records(embedded_admin, "PublicMetadataDeclared", 1)
    assert record["actor"] == "alice"
    assert record["resource_id"] == dataset["id"]
    assert set(record["payload"]["columns"]) == set(proposed)

    generator = await client.train(dataset["id"], method="mst", epsilon=1.0)
    generator = await client.wait(f"/generators/{generator['id']}")
    assert generator["status"] == "succeeded", generator.get("error")
    assert generator["epsilon"] <= 1.0 + 1e-12

    # The generator's own privacy report: the accepted bounds and categories cost no ε.
    store = LocalObjectStore(tmp_path / "studio" / "objects")
    await store.start()
    fit = json.loads(await store.get_bytes(privacy_report_key(generator["id"])))
    await store.close()
    coverage = {(s["column"], s["statistic"]): s["coverage"] for s in fit["preprocessing_steps"]}
    assert coverage[("age", "bounds")] == "public metadata"
    assert coverage[("workclass", "categories")] == "public metadata"
    assert fit["public_metadata"]["declaration_version"] == 1
    assert fit["public_metadata"]["declared_by"] == "alice"

    # The compliance report: the guarantee holds given that declaration, by alice, then.
    report = await _privacy_report(embedded_admin, generator["id"])
    given = report["history"]["guarantee"]["given"]
    assert given.startswith("The guarantee holds given"), given
    assert f"declaration 1 of the schema review, by alice on {record['occurred_at'][:10]}" in given
    assert "age: kind numeric, bounds 0 to 100" in given
