"""Routes of ``/privacy``: the policy dry run (the trainer's rules, no budget touched)."""

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from sds_common.auth import Identity
from sds_common.privacy import PolicyLimits
from sds_gateway import queries
from sds_gateway.entrypoints.deps import Gateway
from sds_gateway.entrypoints.problems import ProblemRoute, problem_responses
from sds_gateway.schemas.privacy import PrivacyValidate, PrivacyVerdict


def router(gateway: Gateway, current_user: Callable[[Request], Awaitable[Identity]]) -> APIRouter:
    """The privacy routes."""
    api = APIRouter(
        prefix="/privacy",
        tags=["privacy"],
        route_class=ProblemRoute,
        responses=problem_responses(401, 404, 422),
    )
    user_dep = Depends(current_user)

    @api.post(
        "/validate",
        summary="Would the trainer accept these privacy settings now? (reserves nothing)",
    )
    async def validate(
        body: PrivacyValidate, user: Annotated[Identity, user_dep]
    ) -> PrivacyVerdict:
        async with gateway.database.sessions() as session:
            return await queries.validate_privacy(
                session,
                user,
                request=body,
                limits=PolicyLimits(epsilon_cap=gateway.settings.trainer_epsilon_cap),
                budget_epsilon=gateway.settings.trainer_epsilon_budget,
            )

    return api
