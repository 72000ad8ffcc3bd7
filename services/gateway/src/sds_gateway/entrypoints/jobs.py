"""Routes of ``/jobs``: status and the progress stream."""

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import StreamingResponse

from sds_common.auth import Identity
from sds_gateway import queries
from sds_gateway.entrypoints.deps import Gateway
from sds_gateway.entrypoints.problems import ProblemRoute, problem_responses
from sds_gateway.entrypoints.sse import job_stream, parse_last_event_id
from sds_gateway.schemas.common import Job

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def router(gateway: Gateway, current_user: Callable[[Request], Awaitable[Identity]]) -> APIRouter:
    """The jobs routes."""
    api = APIRouter(
        prefix="/jobs",
        tags=["jobs"],
        route_class=ProblemRoute,
        responses=problem_responses(401, 404),
    )
    user_dep = Depends(current_user)

    @api.get("/{job_id}", summary="Get a job's status and progress")
    async def get_job(job_id: str, user: Annotated[Identity, user_dep]) -> Job:
        async with gateway.database.sessions() as session:
            return await queries.get_job(session, user, job_id=job_id)

    @api.get(
        "/{job_id}/events",
        response_class=StreamingResponse,
        responses={
            200: {
                "description": (
                    "Server-Sent Events: `id` is the event's sequence number, `event` its type, "
                    "`data` JSON. The stream ends after the job's final event; send "
                    "`Last-Event-ID` to resume."
                ),
                "content": {"text/event-stream": {}},
            },
            **problem_responses(400),
        },
        summary="Follow a job's progress (Server-Sent Events)",
    )
    async def job_events(
        job_id: str,
        user: Annotated[Identity, user_dep],
        last_event_id: Annotated[
            str | None,
            Header(
                alias="Last-Event-ID",
                description="the `id` of the last event received, to resume after it",
            ),
        ] = None,
    ) -> StreamingResponse:
        after = parse_last_event_id(last_event_id)
        async with gateway.database.sessions() as session:
            await queries.get_job(session, user, job_id=job_id)
        stream = job_stream(
            database=gateway.database,
            notifier=gateway.notifier,
            job_id=job_id,
            after=after,
            poll_interval_s=gateway.settings.sse_poll_interval_s,
            heartbeat_s=gateway.settings.sse_heartbeat_s,
        )
        return StreamingResponse(stream, media_type="text/event-stream", headers=SSE_HEADERS)

    return api
