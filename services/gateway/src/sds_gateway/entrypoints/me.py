"""Routes of ``/me``: the caller's own data (GDPR access and erasure)."""

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from sds_common.auth import Identity
from sds_gateway.adapters.records import utcnow
from sds_gateway.commands import account
from sds_gateway.entrypoints.deps import Gateway
from sds_gateway.entrypoints.problems import ProblemRoute, problem_responses
from sds_gateway.schemas.access import AccountDeletion, AccountExport


def router(gateway: Gateway, current_user: Callable[[Request], Awaitable[Identity]]) -> APIRouter:
    """The account routes (a person only: an API key gets 403)."""
    api = APIRouter(
        prefix="/me",
        tags=["account"],
        route_class=ProblemRoute,
        responses=problem_responses(401, 403),
    )
    user_dep = Depends(current_user)

    @api.get("/export", summary="Everything the studio holds about me, as JSON")
    async def export(user: Annotated[Identity, user_dep]) -> AccountExport:
        async with gateway.database.sessions() as session:
            return await account.export_account(session, user, now=utcnow())

    @api.delete(
        "",
        summary=(
            "Delete my account: projects I own alone (with their datasets and stored objects), "
            "my memberships and API keys (audited as AccountDeleted)"
        ),
    )
    async def delete_me(user: Annotated[Identity, user_dep]) -> AccountDeletion:
        return await account.delete_account(
            database=gateway.database, storage=gateway.storage, user=user
        )

    return api
