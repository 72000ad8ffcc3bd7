"""Synthetic CSV downloads are safe to open in a spreadsheet (finding 3: formula injection).

A cell a spreadsheet would execute (``=``, ``+``, ``-``, ``@`` first, also after leading blanks, or
a leading tab or carriage return) gets a leading ``'`` (the OWASP rule), header cells included;
``?raw=true`` gives the cells verbatim; Parquet is never touched.
"""

from __future__ import annotations

import csv
import io
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from sds_common.events import ModelTrained, SyntheticDataGenerated
from sds_gateway.domain.formulas import neutralise_formulas
from tests.unit.gateway.harness import Harness, running_gateway

DANGEROUS = ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\t=1+1", "\r=1+1", "  =HYPERLINK(x)", "\n@x"]
HARMLESS = ["plain", "a=b", "", "-5", "+3.25", "-1e5", "100", "'quoted"]


def test_neutralise_formulas_prefixes_every_executable_cell_and_nothing_else() -> None:
    strings = DANGEROUS + HARMLESS
    table = pa.table(
        {
            '=HYPERLINK("http://x")': pa.array(strings, pa.string()),
            "large": pa.array(strings, pa.large_string()),
            "dictionary": pa.array(strings).dictionary_encode(),
            "number": pa.array([-float(n) for n in range(len(strings))]),
            "nulls": pa.array([None, "=x"] + [None] * (len(strings) - 2), pa.string()),
        }
    )
    safe = neutralise_formulas(table)
    expected = ["'" + s for s in DANGEROUS] + HARMLESS
    assert safe.column_names == [
        '\'=HYPERLINK("http://x")',
        "large",
        "dictionary",
        "number",
        "nulls",
    ]
    assert safe.column(0).to_pylist() == expected
    assert safe.column(1).to_pylist() == expected
    assert safe.column(2).to_pylist() == expected
    assert safe.schema.field(1).type == pa.large_string()
    assert pa.types.is_dictionary(safe.schema.field(2).type)
    assert safe.column(3) == table.column(3)  # numbers are written as numbers: never touched
    assert safe.column(4).to_pylist()[:2] == [None, "'=x"]
    assert neutralise_formulas(safe).to_pylist() == safe.to_pylist()  # idempotent


async def _synthetic(gw: Harness, table: pa.Table) -> tuple[str, bytes]:
    """A succeeded synthetic dataset whose stored Parquet is ``table``."""
    project_id = await gw.create_project()
    dataset_id = await gw.ready_dataset(project_id)
    created = await gw.call(
        "POST",
        "/api/v1/generators",
        json={"dataset_id": dataset_id, "privacy": {"epsilon": 1.0, "delta": 1e-6}},
    )
    assert created.status_code == 202, created.text
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
            duration_s=0.5,
        )
    )
    await gw.until_status(f"/api/v1/generators/{generator_id}", "succeeded")
    sampled = await gw.call("POST", f"/api/v1/generators/{generator_id}/samples", json={})
    assert sampled.status_code == 202, sampled.text
    synthetic_id = sampled.json()["id"]
    sink = io.BytesIO()
    pq.write_table(table, sink)
    key = f"synthetic/{synthetic_id}/data.parquet"
    await gw.storage.put_bytes(key, sink.getvalue())
    await gw.publish(
        SyntheticDataGenerated(
            generator_id=uuid.UUID(generator_id),
            synthetic_dataset_id=uuid.UUID(synthetic_id),
            dataset_id=uuid.UUID(dataset_id),
            object_key=key,
            rows=table.num_rows,
        )
    )
    await gw.until_status(f"/api/v1/synthetic-datasets/{synthetic_id}", "succeeded")
    return synthetic_id, sink.getvalue()


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


async def test_csv_downloads_neutralise_formulas_unless_raw_is_asked(tmp_path: Path) -> None:
    table = pa.table({'=HYPERLINK("http://evil")': DANGEROUS, "n": list(range(len(DANGEROUS)))})
    async with running_gateway(tmp_path) as gw:
        synthetic_id, stored = await _synthetic(gw, table)
        path = f"/api/v1/synthetic-datasets/{synthetic_id}/download"
        safe = await gw.call("GET", f"{path}?format=csv")
        raw = await gw.call("GET", f"{path}?format=csv&raw=true")
        parquet = await gw.call("GET", f"{path}?format=parquet")
        raw_parquet = await gw.call("GET", f"{path}?format=parquet&raw=false")
    assert safe.status_code == raw.status_code == 200, (safe.text, raw.text)
    header, *cells = _rows(safe.text)
    assert header == ['\'=HYPERLINK("http://evil")', "n"]
    assert [row[0] for row in cells] == ["'" + value for value in DANGEROUS]
    assert [row[1] for row in cells] == [str(n) for n in range(len(DANGEROUS))]
    raw_header, *raw_cells = _rows(raw.text)
    assert raw_header == ['=HYPERLINK("http://evil")', "n"]
    assert [row[0] for row in raw_cells] == DANGEROUS
    assert parquet.content == raw_parquet.content == stored
