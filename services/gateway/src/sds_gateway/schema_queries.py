"""The read side of the schema review: a dataset's schema, proposal and declaration in force.

The proposal is computed from the real rows (not DP): like the statistics it derives from, it is
for the dataset's owners, so only members who may declare (write access) see it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sds_common.auth import Identity
from sds_common.db import Database
from sds_common.storage import ObjectStore
from sds_gateway.adapters.orm import datasets, declarations
from sds_gateway.adapters.proposals import load_proposal
from sds_gateway.adapters.records import utc
from sds_gateway.domain.access import Need
from sds_gateway.domain.errors import Conflict, NotFound
from sds_gateway.domain.status import DatasetStatus
from sds_gateway.schemas.declarations import DatasetSchema, DeclarationOut, SchemaColumn
from sds_gateway.views import load_visible


async def dataset_schema(
    *, database: Database, storage: ObjectStore, user: Identity, dataset_id: str
) -> DatasetSchema:
    """The schema review of one ready dataset, for a member who may declare."""
    async with database.reads() as session:
        row = await reviewable_dataset(session, user=user, dataset_id=dataset_id)
        declared = await latest_declaration(session, dataset_id=dataset_id)
    proposal = await load_proposal(storage, dataset_id=dataset_id, profile_key=row["profile_key"])
    target = row["target_column"]
    return DatasetSchema(
        dataset_id=dataset_id,
        n_rows=row["n_rows"],
        target_column=target,
        columns=[_column(column, target=target) for column in row["columns"] or []],
        proposal=proposal,
        declaration=declared,
    )


def _column(column: dict[str, Any], *, target: str | None) -> SchemaColumn:
    # Field by field: a newer profile's extra facts must not make the review unreadable.
    return SchemaColumn(
        name=column["name"],
        kind=column["kind"],
        format=column.get("format"),
        missing_fraction=column["missing_fraction"],
        distinct=column["distinct"],
        pii=list(column.get("pii") or ()),
        target=column["name"] == target,
    )


async def reviewable_dataset(session: AsyncSession, *, user: Identity, dataset_id: str) -> Any:
    """The dataset's row, once profiled, if ``user`` may declare its metadata.

    Raises:
        NotFound: no such dataset for this user, or it was deleted.
        Forbidden: a member without write access (or a read-only API key).
        Conflict: not profiled (yet).
    """
    row, _ = await load_visible(
        session, datasets, row_id=dataset_id, user=user, need=Need.WRITE, what="dataset"
    )
    if row["status"] == DatasetStatus.DELETED:
        raise NotFound("dataset not found")
    if row["status"] != DatasetStatus.READY or not row["profile_key"]:
        detail = f"dataset {dataset_id} is {row['status']}; its schema is reviewed once ready"
        if row["error_message"]:
            detail += f" (rejected: {row['error_message']})"
        raise Conflict(detail, code="dataset_not_ready")
    return row


async def latest_declaration(session: AsyncSession, *, dataset_id: str) -> DeclarationOut | None:
    """The declaration in force for ``dataset_id`` (the latest), or None."""
    row = (
        (
            await session.execute(
                select(declarations)
                .where(declarations.c.dataset_id == dataset_id)
                .order_by(declarations.c.version.desc())
                .limit(1)
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    return DeclarationOut(
        dataset_id=dataset_id,
        version=row["version"],
        declared_by=row["created_by"],
        declared_at=utc(row["created_at"]),
        **row["declaration"],
    )


async def declared_version(session: AsyncSession, dataset_id: str) -> int | None:
    """The number of the declaration in force for ``dataset_id`` (None: nothing declared)."""
    version: int | None = await session.scalar(
        select(func.max(declarations.c.version)).where(declarations.c.dataset_id == dataset_id)
    )
    return version
