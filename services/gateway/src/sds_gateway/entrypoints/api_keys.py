"""Routes of ``/api-keys``: a signed-in person's keys for machine clients."""

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from sds_common.auth import Identity
from sds_gateway.commands import api_keys as commands
from sds_gateway.domain.pagination import DEFAULT_LIMIT, MAX_LIMIT
from sds_gateway.entrypoints.deps import Gateway
from sds_gateway.entrypoints.problems import ProblemRoute, problem_responses
from sds_gateway.schemas.access import ApiKey, ApiKeyCreate, ApiKeyCreated
from sds_gateway.schemas.common import Page


def router(gateway: Gateway, current_user: Callable[[Request], Awaitable[Identity]]) -> APIRouter:
    """The API-key routes (an API key itself may not use them: 403)."""
    api = APIRouter(
        prefix="/api-keys",
        tags=["api keys"],
        route_class=ProblemRoute,
        responses=problem_responses(401, 403, 422),
    )
    user_dep = Depends(current_user)

    @api.post(
        "",
        status_code=201,
        responses=problem_responses(404),
        summary="Create an API key for one project (its token is shown only in this answer)",
    )
    async def create_key(body: ApiKeyCreate, user: Annotated[Identity, user_dep]) -> ApiKeyCreated:
        return await commands.create_key(gateway.database, user, body)

    @api.get("", summary="List my API keys (newest first, revoked ones too)")
    async def list_keys(
        user: Annotated[Identity, user_dep],
        project_id: str | None = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> Page[ApiKey]:
        async with gateway.database.sessions() as session:
            return await commands.list_keys(
                session, user, project_id=project_id, limit=limit, cursor=cursor
            )

    @api.delete(
        "/{key_id}",
        status_code=204,
        responses=problem_responses(404),
        summary="Revoke an API key (at once, for good)",
    )
    async def revoke_key(key_id: str, user: Annotated[Identity, user_dep]) -> Response:
        await commands.revoke_key(gateway.database, user, key_id=key_id)
        return Response(status_code=204)

    return api
