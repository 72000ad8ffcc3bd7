"""Declaring a dataset's public metadata after the schema review (``PublicMetadataDeclared``)."""

from __future__ import annotations

import uuid

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from sds_common.auth import Identity
from sds_common.db import Database
from sds_common.events import PublicMetadataDeclared
from sds_common.storage import ObjectStore
from sds_common.tables.public_metadata import Declaration
from sds_gateway.adapters.orm import declarations
from sds_gateway.adapters.proposals import load_proposal
from sds_gateway.adapters.records import utcnow
from sds_gateway.domain.declarations import declaration_problems
from sds_gateway.domain.errors import Conflict, Invalid
from sds_gateway.schema_queries import latest_declaration, reviewable_dataset
from sds_gateway.schemas.declarations import DeclarationOut


async def declare_public_metadata(
    *,
    database: Database,
    storage: ObjectStore,
    user: Identity,
    dataset_id: str,
    declaration: Declaration,
) -> DeclarationOut:
    """Record ``declaration`` as the dataset's public metadata and announce it.

    The declaration replaces the previous one (a new version); the same declaration again
    changes nothing. Trainings requested from now on name this version.

    Raises:
        Invalid: the declaration carries a value the proposal did not show
            (``undeclarable_metadata``; see ``domain.declarations``).
        Conflict: the dataset is not profiled, has no proposal, or another declaration was
            recorded at the same moment.
    """
    async with database.reads() as session:
        row = await reviewable_dataset(session, user=user, dataset_id=dataset_id)
    proposal = await load_proposal(storage, dataset_id=dataset_id, profile_key=row["profile_key"])
    problems = declaration_problems(declaration, proposal)
    if problems:
        raise Invalid("; ".join(problems), code="undeclarable_metadata")
    try:
        async with database.unit_of_work(actor=user.user_id) as uow:
            row = await reviewable_dataset(uow.session, user=user, dataset_id=dataset_id)
            current = await latest_declaration(uow.session, dataset_id=dataset_id)
            if current is not None and _same(current, declaration):
                return current
            version = 1 if current is None else current.version + 1
            now = utcnow()
            await uow.session.execute(
                insert(declarations).values(
                    dataset_id=dataset_id,
                    version=version,
                    project_id=row["project_id"],
                    declaration=declaration.model_dump(mode="json"),
                    created_by=user.user_id,
                    created_at=now,
                )
            )
            await uow.emit(
                PublicMetadataDeclared(
                    dataset_id=uuid.UUID(dataset_id),
                    declaration_version=version,
                    columns=declaration.columns,
                    target_classes_public=declaration.target_classes_public,
                ),
                project_id=row["project_id"],
            )
    except IntegrityError:
        raise Conflict(
            "another declaration of this dataset was recorded at the same moment; read the "
            "schema again and repeat",
            code="declaration_conflict",
        ) from None
    return DeclarationOut(
        dataset_id=dataset_id,
        version=version,
        declared_by=user.user_id,
        declared_at=now,
        columns=declaration.columns,
        target_classes_public=declaration.target_classes_public,
    )


def _same(current: DeclarationOut, declaration: Declaration) -> bool:
    return (
        current.columns == declaration.columns
        and current.target_classes_public == declaration.target_classes_public
    )
