"""Routes of ``/evaluations``."""

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from sds_common.auth import Identity
from sds_common.storage import ObjectNotFound
from sds_gateway import queries
from sds_gateway.adapters.orm import evaluations
from sds_gateway.commands import pipeline
from sds_gateway.domain.access import Need
from sds_gateway.domain.errors import Conflict, NotFound
from sds_gateway.domain.pagination import DEFAULT_LIMIT, MAX_LIMIT
from sds_gateway.entrypoints.deps import Gateway
from sds_gateway.entrypoints.problems import ProblemRoute, problem_responses
from sds_gateway.schemas.common import Page
from sds_gateway.schemas.pipeline import Evaluation, EvaluationCreate
from sds_gateway.views import evaluation_view, load_visible

#: The report is the evaluator's HTML: it may run its own plotting scripts, but in a sandbox
#: without this origin's cookies or storage.
REPORT_HEADERS = {
    "Content-Security-Policy": "sandbox allow-scripts allow-popups",
    "X-Content-Type-Options": "nosniff",
}


def router(gateway: Gateway, current_user: Callable[[Request], Awaitable[Identity]]) -> APIRouter:
    """The evaluations routes."""
    api = APIRouter(
        prefix="/evaluations",
        tags=["evaluations"],
        route_class=ProblemRoute,
        responses=problem_responses(401, 404, 422),
    )
    user_dep = Depends(current_user)

    @api.get("", summary="List evaluations (newest first)")
    async def list_evaluations(
        user: Annotated[Identity, user_dep],
        synthetic_dataset_id: str | None = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> Page[Evaluation]:
        async with gateway.database.sessions() as session:
            return await queries.list_evaluations(
                session,
                user,
                synthetic_dataset_id=synthetic_dataset_id,
                limit=limit,
                cursor=cursor,
            )

    @api.post(
        "",
        status_code=202,
        responses=problem_responses(403, 409),
        summary="Evaluate synthetic data again (emits EvaluationRequested)",
    )
    async def create_evaluation(
        body: EvaluationCreate, user: Annotated[Identity, user_dep]
    ) -> Evaluation:
        return await pipeline.request_evaluation(gateway.database, user, body)

    @api.get("/{evaluation_id}", summary="Get an evaluation and its scores")
    async def get_evaluation(evaluation_id: str, user: Annotated[Identity, user_dep]) -> Evaluation:
        async with gateway.database.sessions() as session:
            row, _ = await load_visible(
                session,
                evaluations,
                row_id=evaluation_id,
                user=user,
                need=Need.READ,
                what="evaluation",
            )
        return evaluation_view(row)

    @api.get(
        "/{evaluation_id}/report",
        response_class=HTMLResponse,
        responses=problem_responses(409),
        summary="The evaluation's HTML report",
    )
    async def get_report(evaluation_id: str, user: Annotated[Identity, user_dep]) -> HTMLResponse:
        async with gateway.database.sessions() as session:
            row, _ = await load_visible(
                session,
                evaluations,
                row_id=evaluation_id,
                user=user,
                need=Need.READ,
                what="evaluation",
            )
        if row["status"] != "succeeded" or not row["html_report_key"]:
            raise Conflict(
                f"evaluation {evaluation_id} is {row['status']}; the report exists once it "
                "succeeded",
                code="evaluation_not_ready",
            )
        try:
            content = await gateway.storage.get_bytes(row["html_report_key"])
        except ObjectNotFound:
            raise NotFound("the evaluation's report is no longer stored") from None
        return HTMLResponse(content=content, headers=REPORT_HEADERS)

    return api
