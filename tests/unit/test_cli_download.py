"""``sds download`` right after ``sds sample``: it waits for the rows, or says why there are none.

The CLI's download logic runs against a real gateway (in-process, its events published by the
test), so the sample is still queued when the download starts, every time.
"""

from __future__ import annotations

import asyncio
import io
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from rich.console import Console

from sds_common.events import GenerationFailed, ModelTrained, SyntheticDataGenerated
from sds_studio.client import StudioClient, StudioError
from sds_studio.waiting import download_when_ready
from tests.unit.gateway.harness import ALICE, SECRETS, Harness, running_gateway


async def _queued_sample(gw: Harness) -> tuple[str, str, str]:
    """A trained generator's sample, still queued: (dataset, generator, synthetic dataset) ids."""
    dataset_id = await gw.ready_dataset(await gw.create_project())
    created = await gw.call(
        "POST", "/api/v1/generators", json={"dataset_id": dataset_id, "privacy": {"epsilon": 1}}
    )
    generator_id = created.json()["id"]
    await gw.publish(
        ModelTrained(
            generator_id=uuid.UUID(generator_id),
            dataset_id=uuid.UUID(dataset_id),
            model_key=f"models/{generator_id}/model.pt",
            method="dp-ctgan",
            epsilon=0.9,
            delta=1e-6,
            epochs=1,
            duration_s=1.0,
        )
    )
    await gw.until_status(f"/api/v1/generators/{generator_id}", "succeeded")
    sample = await gw.call("POST", f"/api/v1/generators/{generator_id}/samples", json={"rows": 3})
    assert sample.json()["status"] == "queued", sample.text
    return dataset_id, generator_id, sample.json()["id"]


@asynccontextmanager
async def _cli_client(gw: Harness) -> AsyncIterator[StudioClient]:
    async with StudioClient(
        "http://gateway",
        secret=SECRETS[0],
        user_id=ALICE[0],
        email=ALICE[1],
        transport=httpx.ASGITransport(app=gw.app),
    ) as client:
        yield client


def _console() -> tuple[Console, io.StringIO]:
    sink = io.StringIO()
    return Console(file=sink, force_terminal=False, width=120), sink


async def test_download_waits_for_a_queued_sample_then_writes_its_rows(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw, _cli_client(gw) as client:
        dataset_id, generator_id, synthetic_id = await _queued_sample(gw)
        console, sink = _console()
        out = tmp_path / "rows.csv"
        download = asyncio.create_task(
            download_when_ready(client, synthetic_id, out=out, console=console)
        )

        async def waiting() -> bool:
            return "waiting for its rows" in sink.getvalue()

        await gw.until(waiting)
        assert f"synthetic dataset {synthetic_id} is queued" in sink.getvalue()
        assert not download.done()

        key = f"synthetic/{synthetic_id}/data.parquet"
        table = pa.table({"a": [1, 2, 3], "b": [4, 5, 6]})
        parquet = io.BytesIO()
        pq.write_table(table, parquet)
        await gw.storage.put_bytes(key, parquet.getvalue())
        await gw.publish(
            SyntheticDataGenerated(
                generator_id=uuid.UUID(generator_id),
                synthetic_dataset_id=uuid.UUID(synthetic_id),
                dataset_id=uuid.UUID(dataset_id),
                object_key=key,
                rows=3,
            )
        )
        written = await asyncio.wait_for(download, timeout=30)
    assert written == out
    assert pd.read_csv(out).to_dict("list") == {"a": [1, 2, 3], "b": [4, 5, 6]}


async def test_download_of_a_failed_sample_says_why(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw, _cli_client(gw) as client:
        _, generator_id, synthetic_id = await _queued_sample(gw)
        console, _ = _console()
        download = asyncio.create_task(
            download_when_ready(client, synthetic_id, out=tmp_path / "x.csv", console=console)
        )
        await gw.publish(
            GenerationFailed(
                generator_id=uuid.UUID(generator_id),
                synthetic_dataset_id=uuid.UUID(synthetic_id),
                code="sampling_failed",
                message="the model file is missing",
            )
        )
        with pytest.raises(StudioError) as failed:
            await asyncio.wait_for(download, timeout=30)
    assert failed.value.code == "synthetic_dataset_not_ready"
    assert failed.value.detail == (
        f"synthetic dataset {synthetic_id} is failed: the model file is missing"
    )
    assert not (tmp_path / "x.csv").exists()


async def test_without_waiting_a_queued_sample_is_refused_at_once(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw, _cli_client(gw) as client:
        _, _, synthetic_id = await _queued_sample(gw)
        console, sink = _console()
        with pytest.raises(StudioError) as refused:
            await download_when_ready(
                client, synthetic_id, out=tmp_path / "x.csv", wait=False, console=console
            )
    assert refused.value.detail == f"synthetic dataset {synthetic_id} is queued"
    assert sink.getvalue() == ""
