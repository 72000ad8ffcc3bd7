"""Synthetic data out of object storage: Parquet as stored, or CSV converted batch by batch.

The CSV path applies ``steps`` to each batch before writing it, in order: each is a function
from a pyarrow table to a table (``domain.formulas.neutralise_formulas`` makes cells a
spreadsheet would execute inert), so steps compose and none needs the whole table.
"""

from __future__ import annotations

import asyncio
import io
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sds_common.storage import ObjectStore

if TYPE_CHECKING:
    import pyarrow as pa

CSV_BATCH_ROWS = 65_536

BatchStep = Callable[["pa.Table"], "pa.Table"]
"""A step of the CSV export, applied to each batch of rows (the header comes from its names)."""


async def parquet_as_csv(
    storage: ObjectStore,
    key: str,
    *,
    batch_rows: int = CSV_BATCH_ROWS,
    steps: Sequence[BatchStep] = (),
) -> AsyncIterator[bytes]:
    """Yield the Parquet object ``key`` as CSV (header first), ``batch_rows`` rows at a time.

    The object is copied to a temporary file (Parquet needs random access), then read one
    record batch at a time, so memory stays bounded by one batch whatever the table's size.
    Each batch goes through ``steps`` in order before it is written.
    """
    import pyarrow as pa  # noqa: PLC0415 — heavy; only downloads need it
    import pyarrow.parquet as pq  # noqa: PLC0415

    folder = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="sds-export-"))
    try:
        path = folder / "data.parquet"
        await storage.download_to(key, path)
        parquet = await asyncio.to_thread(pq.ParquetFile, path)
        batches = iter(parquet.iter_batches(batch_size=batch_rows))
        first = True
        while (batch := await asyncio.to_thread(next, batches, None)) is not None:
            table = pa.Table.from_batches([batch])
            yield await asyncio.to_thread(_csv, table, header=first, steps=steps)
            first = False
        if first:  # no rows: still give the header
            empty = pa.Table.from_batches([], schema=parquet.schema_arrow)
            yield await asyncio.to_thread(_csv, empty, header=True, steps=steps)
    finally:
        await asyncio.to_thread(shutil.rmtree, folder, True)


def _csv(table: Any, *, header: bool, steps: Sequence[BatchStep]) -> bytes:
    import pyarrow.csv as pacsv  # noqa: PLC0415

    for step in steps:
        table = step(table)
    sink = io.BytesIO()
    pacsv.write_csv(table, sink, write_options=pacsv.WriteOptions(include_header=header))
    return sink.getvalue()
