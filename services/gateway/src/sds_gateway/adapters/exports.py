"""Synthetic data out of object storage, written the way the source table was written.

CSV is rendered batch by batch in each column's format (``sds_common.tables.render``): booleans
as their tokens, numbers with their decimals, datetimes in their pattern and zone. Then ``steps``
apply to each rendered batch, in order: each is a function from a pyarrow table to a table
(``domain.formulas.neutralise_formulas`` makes cells a spreadsheet would execute inert), so
steps compose and none needs the whole table. Parquet keeps typed columns and restores the
source file's types where the typed table changed them; when none changed, the stored object
is sent as it is.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sds_common.storage import ObjectStore
from sds_common.tables import ColumnFormat

if TYPE_CHECKING:
    import pyarrow as pa

CSV_BATCH_ROWS = 65_536
_CHUNK_BYTES = 1024 * 1024

BatchStep = Callable[["pa.Table"], "pa.Table"]
"""A step of the CSV export, applied to each rendered batch (the header comes from its names)."""


@asynccontextmanager
async def _local_copy(storage: ObjectStore, key: str) -> AsyncIterator[Path]:
    """The object ``key`` in a temporary folder (Parquet needs random access)."""
    folder = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="sds-export-"))
    try:
        path = folder / "data.parquet"
        await storage.download_to(key, path)
        yield path
    finally:
        await asyncio.to_thread(shutil.rmtree, folder, True)


async def parquet_as_csv(
    storage: ObjectStore,
    key: str,
    *,
    formats: Mapping[str, ColumnFormat] | None = None,
    batch_rows: int = CSV_BATCH_ROWS,
    steps: Sequence[BatchStep] = (),
) -> AsyncIterator[bytes]:
    """Yield the Parquet object ``key`` as CSV (header first), ``batch_rows`` rows at a time.

    Each column is written in its format from ``formats`` (by name; a column without one keeps
    a plain rendering), then each rendered batch goes through ``steps`` in order. Memory stays
    bounded by one batch whatever the table's size.
    """
    import pyarrow as pa  # noqa: PLC0415 — heavy; only downloads need it
    import pyarrow.parquet as pq  # noqa: PLC0415

    formats = formats or {}
    async with _local_copy(storage, key) as path:
        parquet = await asyncio.to_thread(pq.ParquetFile, path)
        batches = iter(parquet.iter_batches(batch_size=batch_rows))
        first = True
        while (batch := await asyncio.to_thread(next, batches, None)) is not None:
            yield await asyncio.to_thread(_csv, batch, formats, header=first, steps=steps)
            first = False
        if first:  # no rows: still give the header
            empty = pa.Table.from_batches([], schema=parquet.schema_arrow)
            yield await asyncio.to_thread(_csv, empty, formats, header=True, steps=steps)


def _csv(
    data: Any,
    formats: Mapping[str, ColumnFormat],
    *,
    header: bool,
    steps: Sequence[BatchStep],
) -> bytes:
    from sds_common.tables.render import render_table, write_csv  # noqa: PLC0415 — pyarrow

    text = render_table(data, formats)
    for step in steps:
        text = step(text)
    return write_csv(text, header=header)


async def parquet_in_source_types(
    storage: ObjectStore, key: str, *, formats: Mapping[str, ColumnFormat] | None = None
) -> AsyncIterator[bytes]:
    """Yield the Parquet object ``key`` with its columns in the source file's types."""
    import pyarrow.parquet as pq  # noqa: PLC0415

    from sds_common.tables.render import source_types_differ  # noqa: PLC0415

    formats = formats or {}
    async with _local_copy(storage, key) as stored:
        schema = await asyncio.to_thread(pq.read_schema, stored)
        path = stored
        if source_types_differ(schema, formats):
            path = stored.with_name("restored.parquet")
            await asyncio.to_thread(_restore, stored, path, formats)
        with path.open("rb") as fh:
            while chunk := await asyncio.to_thread(fh.read, _CHUNK_BYTES):
                yield chunk


def _restore(source: Path, target: Path, formats: Mapping[str, ColumnFormat]) -> None:
    import pyarrow.parquet as pq  # noqa: PLC0415

    from sds_common.tables.render import restore_source_types  # noqa: PLC0415

    parquet = pq.ParquetFile(source)
    writer: pq.ParquetWriter | None = None
    try:
        for batch in parquet.iter_batches(batch_size=CSV_BATCH_ROWS):
            table = restore_source_types(batch, formats)
            if writer is None:
                writer = pq.ParquetWriter(target, table.schema)
            writer.write_table(table)
        if writer is None:  # no rows: the restored schema of an empty table
            empty = restore_source_types(parquet.schema_arrow.empty_table(), formats)
            pq.write_table(empty, target)
    finally:
        if writer is not None:
            writer.close()
