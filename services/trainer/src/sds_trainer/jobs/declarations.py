"""The training job's read of the declaration its request names (the schema review's)."""

from __future__ import annotations

from datetime import UTC

from sqlalchemy import select

from sds_common.db import Database
from sds_common.events import TrainingRequested
from sds_common.jobs import JobDeferredError
from sds_common.tables.public_metadata import DeclaredColumn
from sds_trainer.adapters.orm import public_metadata
from sds_trainer.domain.public_metadata import InForce


async def declaration_in_force(database: Database, request: TrainingRequested) -> InForce:
    """The declaration ``request`` names; an empty one when it names none.

    The request names the version the gateway had when the training was asked for, so a resumed
    training uses the same one as its first attempt, whatever was declared since.

    Raises:
        JobDeferredError: the named declaration has not reached the trainer yet (it travels on
            another topic than the request); nothing has been reserved.
    """
    if request.public_metadata_version is None:
        return InForce()
    async with database.sessions() as session:
        row = (
            (
                await session.execute(
                    select(public_metadata).where(
                        public_metadata.c.dataset_id == str(request.dataset_id),
                        public_metadata.c.version == request.public_metadata_version,
                    )
                )
            )
            .mappings()
            .first()
        )
    if row is None:
        raise JobDeferredError(
            f"waiting for declaration {request.public_metadata_version} of the dataset's "
            "public metadata",
            delay_s=1.0,
        )
    declared_at = row["declared_at"]
    return InForce(
        version=row["version"],
        columns={
            name: DeclaredColumn.model_validate(column) for name, column in row["columns"].items()
        },
        target_classes_public=bool(row["target_classes_public"]),
        declared_by=row["declared_by"],
        # SQLite hands timestamps back naive; they were written in UTC.
        declared_at=declared_at if declared_at.tzinfo else declared_at.replace(tzinfo=UTC),
    )
