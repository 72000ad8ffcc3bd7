"""Routes of ``/projects``."""

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from sds_common.auth import Identity
from sds_gateway import queries
from sds_gateway.commands import projects as commands
from sds_gateway.domain.pagination import DEFAULT_LIMIT, MAX_LIMIT
from sds_gateway.entrypoints.deps import Gateway
from sds_gateway.entrypoints.problems import ProblemRoute, problem_responses
from sds_gateway.schemas.common import Page
from sds_gateway.schemas.projects import Project, ProjectCreate, ProjectUpdate

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="items per page")]
CursorQuery = Annotated[str | None, Query(description="next_cursor of the previous page")]


def router(gateway: Gateway, current_user: Callable[[Request], Awaitable[Identity]]) -> APIRouter:
    """The projects routes."""
    api = APIRouter(
        prefix="/projects",
        tags=["projects"],
        route_class=ProblemRoute,
        responses=problem_responses(401, 422),
    )
    user_dep = Depends(current_user)

    @api.get("", summary="List my projects")
    async def list_projects(
        user: Annotated[Identity, user_dep],
        limit: Limit = DEFAULT_LIMIT,
        cursor: CursorQuery = None,
    ) -> Page[Project]:
        async with gateway.database.sessions() as session:
            return await queries.list_projects(session, user, limit=limit, cursor=cursor)

    @api.post("", status_code=201, summary="Create a project (you become its owner)")
    async def create_project(body: ProjectCreate, user: Annotated[Identity, user_dep]) -> Project:
        return await commands.create_project(gateway.database, user, body)

    @api.get("/{project_id}", responses=problem_responses(404), summary="Get a project")
    async def get_project(project_id: str, user: Annotated[Identity, user_dep]) -> Project:
        async with gateway.database.sessions() as session:
            return await queries.get_project(session, user, project_id=project_id)

    @api.patch("/{project_id}", responses=problem_responses(403, 404), summary="Rename or describe")
    async def update_project(
        project_id: str, body: ProjectUpdate, user: Annotated[Identity, user_dep]
    ) -> Project:
        return await commands.update_project(
            gateway.database, user, project_id=project_id, request=body
        )

    @api.delete(
        "/{project_id}",
        status_code=204,
        responses=problem_responses(403, 404),
        summary="Delete a project and its datasets (owners)",
    )
    async def delete_project(project_id: str, user: Annotated[Identity, user_dep]) -> Response:
        await commands.delete_project(gateway.database, user, project_id=project_id)
        return Response(status_code=204)

    return api
