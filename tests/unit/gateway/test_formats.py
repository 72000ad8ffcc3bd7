"""The owner's column overrides at upload, and downloads written in the source's formats."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from sds_common.events import (
    DatasetProfiled,
    DatasetUploaded,
    ModelTrained,
    SyntheticDataGenerated,
)
from sds_common.events.datasets import ColumnSummary
from sds_common.tables import BooleanTokens, ColumnFormat
from tests.unit.gateway.harness import Harness, running_gateway

FORMATS = {
    "flag": ColumnFormat(
        dtype="boolean", source_type="int64", boolean=BooleanTokens(true="1", false="0")
    ),
    "answer": ColumnFormat(dtype="boolean", boolean=BooleanTokens(true="Yes", false="No")),
    "price": ColumnFormat(dtype="float64", decimals=2, fixed_decimals=True, step=0.01),
    "at": ColumnFormat(
        dtype="datetime64[us, UTC]",
        datetime_format="%Y-%m-%dT%H:%M:%SZ",
        granularity_s=3600,
        missing_markers=("NA",),
        missing_token="NA",
    ),
    "choice": ColumnFormat(dtype="string"),
}


async def _synthetic(gw: Harness, table: pa.Table) -> str:
    """A ready dataset with FORMATS, a trained generator and a stored synthetic table."""
    project_id = await gw.create_project()
    uploaded = await gw.upload(project_id)
    dataset_id = uploaded.json()["id"]
    columns = tuple(
        ColumnSummary(name=name, kind="numeric", missing_fraction=0.0, distinct=2, format=fmt)
        for name, fmt in FORMATS.items()
    )
    await gw.publish(
        DatasetProfiled(
            dataset_id=uuid.UUID(dataset_id),
            n_rows=100,
            n_columns=len(columns),
            columns=columns,
            profile_key=f"datasets/{dataset_id}/profile.json",
            table_key=f"datasets/{dataset_id}/table.parquet",
            train_key=f"datasets/{dataset_id}/train.parquet",
            holdout_key=f"datasets/{dataset_id}/holdout.parquet",
            holdout_rows=20,
        ),
        project_id=project_id,
    )
    await gw.until_status(f"/api/v1/datasets/{dataset_id}", "ready")
    created = await gw.call(
        "POST",
        "/api/v1/generators",
        json={"dataset_id": dataset_id, "privacy": {"epsilon": 3.0, "delta": 1e-6}},
    )
    generator_id = created.json()["id"]
    await gw.publish(
        ModelTrained(
            generator_id=uuid.UUID(generator_id),
            dataset_id=uuid.UUID(dataset_id),
            model_key=f"models/{generator_id}/model.pt",
            method="aim",
            epsilon=2.9,
            delta=1e-6,
            epochs=1,
            duration_s=1.0,
        )
    )
    await gw.until_status(f"/api/v1/generators/{generator_id}", "succeeded")
    synthetic = (
        await gw.call("POST", f"/api/v1/generators/{generator_id}/samples", json={})
    ).json()
    sink = io.BytesIO()
    pq.write_table(table, sink, row_group_size=7)
    key = f"synthetic/{synthetic['id']}/data.parquet"
    await gw.storage.put_bytes(key, sink.getvalue())
    await gw.publish(
        SyntheticDataGenerated(
            generator_id=uuid.UUID(generator_id),
            synthetic_dataset_id=uuid.UUID(synthetic["id"]),
            dataset_id=uuid.UUID(dataset_id),
            object_key=key,
            rows=table.num_rows,
        )
    )
    await gw.until_status(f"/api/v1/synthetic-datasets/{synthetic['id']}", "succeeded")
    return str(synthetic["id"])


def _synthetic_table(rows: int = 20) -> pa.Table:
    start = datetime(2013, 9, 13, 12, tzinfo=UTC)
    return pa.table(
        {
            "flag": pa.array([i % 2 == 0 for i in range(rows)]),
            "answer": pa.array([i % 3 == 0 for i in range(rows)]),
            "price": pa.array([i * 1.23456 for i in range(rows)]),
            "at": pa.array(
                [None if i == 3 else start + timedelta(hours=i) for i in range(rows)],
                pa.timestamp("us", tz="UTC"),
            ),
            "choice": pa.array(["none" if i % 2 else "a,b" for i in range(rows)]),
        }
    )


async def test_csv_download_is_written_in_the_source_formats(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        synthetic_id = await _synthetic(gw, _synthetic_table())
        response = await gw.call(
            "GET", f"/api/v1/synthetic-datasets/{synthetic_id}/download?format=csv"
        )
        assert response.status_code == 200, response.text
        rows = list(csv.reader(io.StringIO(response.text)))
        assert rows[0] == ["flag", "answer", "price", "at", "choice"]
        assert len(rows) == 21
        assert rows[1] == ["1", "Yes", "0.00", "2013-09-13T12:00:00Z", "a,b"]
        assert rows[2] == ["0", "No", "1.23", "2013-09-13T13:00:00Z", "none"]
        assert rows[4][3] == "NA"
        assert rows[9][2] == "9.88"  # 8 * 1.23456, rendered past a batch boundary


async def test_parquet_download_restores_the_source_types(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        table = _synthetic_table()
        synthetic_id = await _synthetic(gw, table)
        response = await gw.call(
            "GET", f"/api/v1/synthetic-datasets/{synthetic_id}/download?format=parquet"
        )
        assert response.status_code == 200, response.text
        downloaded = pq.read_table(io.BytesIO(response.content))
        assert downloaded.schema.field("flag").type == pa.int64()
        assert downloaded.column("flag").to_pylist()[:2] == [1, 0]
        assert downloaded.schema.field("answer").type == pa.bool_()
        assert downloaded.column("price").equals(table.column("price"))


async def test_upload_takes_column_overrides(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        project_id = await gw.create_project()
        columns = {"ref": {"kind": "identifier"}, "note": {"missing_markers": ["none", "-"]}}
        response = await gw.upload(project_id, columns=json.dumps(columns))
        assert response.status_code == 202, response.text

        async def emitted() -> bool:
            return bool(gw.emitted("datasets", "DatasetUploaded"))

        await gw.until(emitted)
        event = DatasetUploaded.model_validate(gw.emitted("datasets", "DatasetUploaded")[0].payload)
        assert event.column_overrides["ref"].kind == "identifier"
        assert event.column_overrides["note"].missing_markers == ("none", "-")


async def test_bad_column_overrides_are_refused_at_the_door(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        project_id = await gw.create_project()
        for columns, words in [
            ('{"ref": {"kind": "primary key"}}', "ref"),
            ('{"ref": {"colour": "red"}}', "colour"),
            ("[1, 2]", "object"),
            ("{not json", "JSON"),
        ]:
            response = await gw.upload(project_id, columns=columns)
            assert response.status_code == 422, (columns, response.text)
            assert response.json()["code"] == "invalid_columns"
            assert words in response.json()["detail"]
        assert await gw.storage.list("datasets/") == []
        assert not gw.emitted("datasets", "DatasetUploaded")
