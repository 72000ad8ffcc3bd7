"""Routes of ``/webhooks``: owners and editors manage, viewers read, others see nothing."""

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from sds_common.auth import Identity
from sds_gateway import webhook_queries as queries
from sds_gateway.commands import webhooks as commands
from sds_gateway.domain.pagination import DEFAULT_LIMIT, MAX_LIMIT
from sds_gateway.domain.webhooks import DeliveryState
from sds_gateway.entrypoints.deps import Gateway
from sds_gateway.entrypoints.problems import ProblemRoute, problem_responses
from sds_gateway.schemas.common import Page
from sds_gateway.schemas.webhooks import (
    Webhook,
    WebhookCreate,
    WebhookCreated,
    WebhookDelivery,
    WebhookUpdate,
)

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="items per page")]
CursorQuery = Annotated[str | None, Query(description="next_cursor of the previous page")]


def router(gateway: Gateway, current_user: Callable[[Request], Awaitable[Identity]]) -> APIRouter:
    """The webhooks routes."""
    api = APIRouter(
        prefix="/webhooks",
        tags=["webhooks"],
        route_class=ProblemRoute,
        responses=problem_responses(401, 404, 422),
    )
    user_dep = Depends(current_user)
    parts = gateway.webhooks

    @api.post(
        "",
        status_code=201,
        responses=problem_responses(403, 409),
        summary="Subscribe a URL to a project's events (the answer shows the signing secret once)",
    )
    async def create_webhook(
        body: WebhookCreate, user: Annotated[Identity, user_dep]
    ) -> WebhookCreated:
        return await commands.create_webhook(gateway.database, parts, user, body)

    @api.get("", summary="List webhooks (newest first)")
    async def list_webhooks(
        user: Annotated[Identity, user_dep],
        project_id: str | None = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: CursorQuery = None,
    ) -> Page[Webhook]:
        async with gateway.database.sessions() as session:
            return await queries.list_webhooks(
                session, user, project_id=project_id, limit=limit, cursor=cursor
            )

    @api.get("/{webhook_id}", summary="Get a webhook")
    async def get_webhook(webhook_id: str, user: Annotated[Identity, user_dep]) -> Webhook:
        async with gateway.database.sessions() as session:
            return await queries.get_webhook(session, user, webhook_id=webhook_id)

    @api.patch(
        "/{webhook_id}",
        responses=problem_responses(403),
        summary="Change the URL or event types, or pause / resume deliveries",
    )
    async def update_webhook(
        webhook_id: str, body: WebhookUpdate, user: Annotated[Identity, user_dep]
    ) -> Webhook:
        return await commands.update_webhook(
            gateway.database, parts, user, webhook_id=webhook_id, request=body
        )

    @api.delete(
        "/{webhook_id}",
        status_code=204,
        responses=problem_responses(403),
        summary="Delete a webhook and its delivery log",
    )
    async def delete_webhook(webhook_id: str, user: Annotated[Identity, user_dep]) -> Response:
        await commands.delete_webhook(gateway.database, parts, user, webhook_id=webhook_id)
        return Response(status_code=204)

    @api.get("/{webhook_id}/deliveries", summary="The delivery log, with every attempt")
    async def list_deliveries(
        webhook_id: str,
        user: Annotated[Identity, user_dep],
        state: DeliveryState | None = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: CursorQuery = None,
    ) -> Page[WebhookDelivery]:
        async with gateway.database.sessions() as session:
            return await queries.list_deliveries(
                session, user, webhook_id=webhook_id, state=state, limit=limit, cursor=cursor
            )

    @api.post(
        "/{webhook_id}/deliveries/{delivery_id}/redeliver",
        status_code=202,
        responses=problem_responses(403, 409),
        summary="Send a finished delivery again (same webhook-id, fresh retry schedule)",
    )
    async def redeliver(
        webhook_id: str, delivery_id: str, user: Annotated[Identity, user_dep]
    ) -> WebhookDelivery:
        return await commands.redeliver(
            gateway.database, parts, user, webhook_id=webhook_id, delivery_id=delivery_id
        )

    @api.post(
        "/{webhook_id}/test",
        status_code=202,
        responses=problem_responses(403, 409),
        summary="Send a WebhookTest message to the webhook",
    )
    async def send_test(webhook_id: str, user: Annotated[Identity, user_dep]) -> WebhookDelivery:
        return await commands.send_test(gateway.database, parts, user, webhook_id=webhook_id)

    return api
