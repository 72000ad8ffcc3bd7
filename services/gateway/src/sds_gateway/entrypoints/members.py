"""Routes of ``/projects/{project_id}/members``: who may do what in a project."""

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from sds_common.auth import Identity
from sds_gateway.commands import members as commands
from sds_gateway.entrypoints.deps import Gateway
from sds_gateway.entrypoints.problems import ProblemRoute, problem_responses
from sds_gateway.schemas.access import Member, MemberAdd, MemberUpdate


def router(gateway: Gateway, current_user: Callable[[Request], Awaitable[Identity]]) -> APIRouter:
    """The member routes (owners manage; every member may list, and leave)."""
    api = APIRouter(
        prefix="/projects/{project_id}/members",
        tags=["projects"],
        route_class=ProblemRoute,
        responses=problem_responses(401, 404, 422),
    )
    user_dep = Depends(current_user)

    @api.get("", summary="List a project's members")
    async def list_members(project_id: str, user: Annotated[Identity, user_dep]) -> list[Member]:
        async with gateway.database.sessions() as session:
            return await commands.list_members(session, user, project_id=project_id)

    @api.post(
        "",
        status_code=201,
        responses=problem_responses(403, 409),
        summary="Add a user who has signed in, by id or email (owners)",
    )
    async def add_member(
        project_id: str, body: MemberAdd, user: Annotated[Identity, user_dep]
    ) -> Member:
        return await commands.add_member(
            gateway.database, user, project_id=project_id, request=body
        )

    @api.patch(
        "/{user_id}",
        responses=problem_responses(403, 409),
        summary="Change a member's role (owners; the last owner stays one)",
    )
    async def change_role(
        project_id: str, user_id: str, body: MemberUpdate, user: Annotated[Identity, user_dep]
    ) -> Member:
        return await commands.change_role(
            gateway.database, user, project_id=project_id, member_id=user_id, request=body
        )

    @api.delete(
        "/{user_id}",
        status_code=204,
        responses=problem_responses(403, 409),
        summary="Remove a member (owners), or leave the project (yourself)",
    )
    async def remove_member(
        project_id: str, user_id: str, user: Annotated[Identity, user_dep]
    ) -> Response:
        await commands.remove_member(
            gateway.database, user, project_id=project_id, member_id=user_id
        )
        return Response(status_code=204)

    return api
