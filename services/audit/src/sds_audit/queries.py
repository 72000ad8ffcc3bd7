"""Reads of the audit log: filtered pages in log order, CSV export, a generator's trail."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import orjson
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from sds_audit.adapters.orm import audit_log, audit_refs
from sds_audit.domain.access import MEMBERSHIP_EVENTS
from sds_audit.domain.chain import ChainRecord, as_utc, canonical_time
from sds_audit.domain.records import ID_FIELDS
from sds_common.db import Database

CSV_PAGE_SIZE: Final = 1000
_IN_CHUNK: Final = 5000
CSV_COLUMNS: Final = tuple(column.name for column in audit_log.c)
#: Events of a dataset's own life (not of one of its generators): part of every generator's trail.
_DATASET_LIFE: Final = frozenset(
    {
        "DatasetUploaded",
        "DatasetProfiled",
        "DatasetRejected",
        "DatasetDeleted",
        "PublicMetadataDeclared",
    }
)


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Which records a listing returns (every given condition must hold)."""

    actor: str | None = None
    project_id: str | None = None
    resource_type: str | None = None
    resource_id: str | None = None
    event_type: str | None = None
    since: datetime | None = None  # occurred_at >= since
    until: datetime | None = None  # occurred_at < until


def _filtered(where: EventFilter, *, after: int) -> Select[Any]:
    statement = select(*audit_log.c).where(audit_log.c.seq > after).order_by(audit_log.c.seq)
    equal = {
        audit_log.c.actor: where.actor,
        audit_log.c.project_id: where.project_id,
        audit_log.c.resource_type: where.resource_type,
        audit_log.c.resource_id: where.resource_id,
        audit_log.c.event_type: where.event_type,
    }
    for column, value in equal.items():
        if value is not None:
            statement = statement.where(column == value)
    if where.since is not None:
        statement = statement.where(audit_log.c.occurred_at >= as_utc(where.since))
    if where.until is not None:
        statement = statement.where(audit_log.c.occurred_at < as_utc(where.until))
    return statement


async def list_records(
    session: AsyncSession, where: EventFilter, *, after: int, limit: int
) -> list[ChainRecord]:
    """Up to ``limit`` matching records with seq > ``after``, in log order."""
    result = await session.execute(_filtered(where, after=after).limit(limit))
    return [ChainRecord._make(row) for row in result]


async def csv_export(database: Database, where: EventFilter, *, after: int) -> AsyncIterator[bytes]:
    """Every matching record after ``after`` as CSV (header first), one short read per page."""
    yield _csv_lines([CSV_COLUMNS])
    while True:
        async with database.sessions() as session:
            page = await list_records(session, where, after=after, limit=CSV_PAGE_SIZE)
        if not page:
            return
        yield _csv_lines(_csv_row(record) for record in page)
        after = page[-1].seq


def _csv_row(record: ChainRecord) -> list[Any]:
    values = record.canonical_fields()
    values["hash"] = record.hash
    values["occurred_at"] = canonical_time(record.occurred_at)
    values["recorded_at"] = canonical_time(record.recorded_at)
    for name in ("privacy", "payload"):
        if values[name] is not None:
            values[name] = orjson.dumps(values[name], option=orjson.OPT_SORT_KEYS).decode()
    return [values[name] for name in CSV_COLUMNS]


def _csv_lines(rows: Iterable[Iterable[Any]]) -> bytes:
    sink = io.StringIO()
    writer = csv.writer(sink, lineterminator="\n")
    writer.writerows(rows)
    return sink.getvalue().encode()


# ---------------------------------------------------------------- who may read what


async def generator_project(session: AsyncSession, generator_id: str) -> str | None:
    """The project a generator's records name (None: no record of it names one)."""
    seqs = select(audit_refs.c.seq).where(
        audit_refs.c.ref_type == "generator", audit_refs.c.ref_id == generator_id
    )
    project: str | None = await session.scalar(
        select(audit_log.c.project_id)
        .where(audit_log.c.seq.in_(seqs), audit_log.c.project_id.is_not(None))
        .order_by(audit_log.c.seq)
        .limit(1)
    )
    return project


async def membership_records(session: AsyncSession, *, user_id: str) -> list[ChainRecord]:
    """Every membership change and account deletion of ``user_id``, in log order."""
    seqs = select(audit_refs.c.seq).where(
        audit_refs.c.ref_type == ID_FIELDS["user_id"], audit_refs.c.ref_id == user_id
    )
    result = await session.execute(
        select(*audit_log.c)
        .where(audit_log.c.seq.in_(seqs), audit_log.c.event_type.in_(MEMBERSHIP_EVENTS))
        .order_by(audit_log.c.seq)
    )
    return [ChainRecord._make(row) for row in result]


# ---------------------------------------------------------------- generator trails


async def generator_trail(session: AsyncSession, generator_id: str) -> list[ChainRecord]:
    """Every record of one generator's life, in log order.

    Followed by resource ids: the generator's own records, its samples' and their evaluations'
    (and those evaluations' explanations), its dataset's upload and profile (not the records of
    the dataset's other generators), plus every record whose correlation id is one of those
    resources (what the services emitted while handling them).
    """
    seqs = await _seqs_naming(session, "generator", [generator_id])
    own = await _records(session, seqs)
    datasets = _ids(own, "dataset_id")
    samples = _ids(own, "synthetic_dataset_id")
    sample_seqs = await _seqs_naming(session, "synthetic_dataset", samples)
    seqs |= sample_seqs
    evaluations = _ids(await _records(session, sample_seqs), "evaluation_id")
    evaluations |= _ids(own, "evaluation_id")
    evaluation_seqs = await _seqs_naming(session, "evaluation", evaluations)
    seqs |= evaluation_seqs
    explanations = _ids(await _records(session, evaluation_seqs), "explanation_id")
    seqs |= await _seqs_naming(session, "explanation", explanations)
    seqs |= await _dataset_life(session, datasets)
    flows = {generator_id, *samples, *evaluations, *explanations}
    correlated = await session.scalars(
        select(audit_log.c.seq).where(audit_log.c.correlation_id.in_(sorted(flows)))
    )
    seqs |= set(correlated)
    return await _records(session, seqs)


async def _seqs_naming(session: AsyncSession, kind: str, ids: Collection[str]) -> set[int]:
    if not ids:
        return set()
    result = await session.scalars(
        select(audit_refs.c.seq).where(
            audit_refs.c.ref_type == kind, audit_refs.c.ref_id.in_(sorted(ids))
        )
    )
    return set(result)


async def _dataset_life(session: AsyncSession, datasets: Collection[str]) -> set[int]:
    if not datasets:
        return set()
    result = await session.scalars(
        select(audit_log.c.seq).where(
            audit_log.c.resource_type == ID_FIELDS["dataset_id"],
            audit_log.c.resource_id.in_(sorted(datasets)),
            audit_log.c.event_type.in_(sorted(_DATASET_LIFE)),
        )
    )
    return set(result)


async def _records(session: AsyncSession, seqs: Collection[int]) -> list[ChainRecord]:
    ordered = sorted(seqs)
    records: list[ChainRecord] = []
    # Chunks keep each statement under the drivers' bound-parameter limits.
    for start in range(0, len(ordered), _IN_CHUNK):
        chunk = ordered[start : start + _IN_CHUNK]
        result = await session.execute(
            select(*audit_log.c).where(audit_log.c.seq.in_(chunk)).order_by(audit_log.c.seq)
        )
        records.extend(ChainRecord._make(row) for row in result)
    return records


def _ids(records: Iterable[ChainRecord], field: str) -> set[str]:
    return {str(r.payload[field]) for r in records if r.payload.get(field)}
