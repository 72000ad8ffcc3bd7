"""Synthetic data out of object storage: Parquet as stored, or CSV converted batch by batch."""

from __future__ import annotations

import asyncio
import io
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sds_common.storage import ObjectStore

CSV_BATCH_ROWS = 65_536


async def parquet_as_csv(
    storage: ObjectStore, key: str, *, batch_rows: int = CSV_BATCH_ROWS
) -> AsyncIterator[bytes]:
    """Yield the Parquet object ``key`` as CSV (header first), ``batch_rows`` rows at a time.

    The object is copied to a temporary file (Parquet needs random access), then read one
    record batch at a time, so memory stays bounded by one batch whatever the table's size.
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
            yield await asyncio.to_thread(_csv, pa.Table.from_batches([batch]), header=first)
            first = False
        if first:  # no rows: still give the header
            empty = pa.Table.from_batches([], schema=parquet.schema_arrow)
            yield await asyncio.to_thread(_csv, empty, header=True)
    finally:
        await asyncio.to_thread(shutil.rmtree, folder, True)


def _csv(table: Any, *, header: bool) -> bytes:
    import pyarrow.csv as pacsv  # noqa: PLC0415

    sink = io.BytesIO()
    pacsv.write_csv(table, sink, write_options=pacsv.WriteOptions(include_header=header))
    return sink.getvalue()
