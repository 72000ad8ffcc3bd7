"""Routes of the schema review: ``/datasets/{id}/schema`` and ``/datasets/{id}/public-metadata``."""

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from sds_common.auth import Identity
from sds_common.tables.public_metadata import Declaration
from sds_gateway import schema_queries
from sds_gateway.commands import declarations as commands
from sds_gateway.entrypoints.deps import Gateway
from sds_gateway.entrypoints.problems import ProblemRoute, problem_responses
from sds_gateway.schemas.declarations import DatasetSchema, DeclarationOut


def router(gateway: Gateway, current_user: Callable[[Request], Awaitable[Identity]]) -> APIRouter:
    """The schema-review routes (members with write access only: the proposal is not DP)."""
    api = APIRouter(
        prefix="/datasets",
        tags=["datasets"],
        route_class=ProblemRoute,
        responses=problem_responses(401, 403, 404, 409, 422),
    )
    user_dep = Depends(current_user)

    @api.get(
        "/{dataset_id}/schema",
        summary="The inferred schema and a proposal of public metadata to declare (once ready)",
    )
    async def get_schema(dataset_id: str, user: Annotated[Identity, user_dep]) -> DatasetSchema:
        return await schema_queries.dataset_schema(
            database=gateway.database, storage=gateway.storage, user=user, dataset_id=dataset_id
        )

    @api.put(
        "/{dataset_id}/public-metadata",
        summary="Declare public metadata (replaces the previous declaration; audited)",
    )
    async def put_public_metadata(
        dataset_id: str, body: Declaration, user: Annotated[Identity, user_dep]
    ) -> DeclarationOut:
        return await commands.declare_public_metadata(
            database=gateway.database,
            storage=gateway.storage,
            user=user,
            dataset_id=dataset_id,
            declaration=body,
        )

    return api
