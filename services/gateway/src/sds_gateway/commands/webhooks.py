"""Managing webhooks (owners and editors): create, change, delete, redeliver, test.

The target URL is checked (scheme, credentials, and every address its host resolves to) when a
webhook is created or its URL changes, and again before every attempt. Authorisation comes
first, so a non-member learns nothing, not even whether a URL would be accepted.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, insert, select, update

from sds_common.auth import Identity
from sds_common.db import Database
from sds_common.jobs import enqueue
from sds_gateway.adapters.records import member_role
from sds_gateway.adapters.secret_box import SecretBox
from sds_gateway.adapters.webhooks import WebhookParts
from sds_gateway.domain.access import Need, authorise
from sds_gateway.domain.errors import Conflict, Invalid
from sds_gateway.domain.webhook_signing import generate_secret
from sds_gateway.domain.webhook_targets import TargetRefusedError
from sds_gateway.domain.webhooks import (
    FINAL_STATES,
    PING_EVENT_TYPE,
    DeliveryState,
    check_event_types,
    message_body,
)
from sds_gateway.handlers.webhook_delivery import JOB_KIND, add_deliveries, job_id_for
from sds_gateway.schemas.webhooks import (
    Webhook,
    WebhookCreate,
    WebhookCreated,
    WebhookDelivery,
    WebhookUpdate,
)
from sds_gateway.webhook_queries import get_delivery, load_webhook, webhook_view


def _box_or_refuse(parts: WebhookParts) -> SecretBox:
    if parts.box is None:
        raise Conflict(
            "webhooks are not configured: the operator must set SDS_WEBHOOK_SECRET_KEY",
            code="webhooks_not_configured",
        )
    return parts.box


async def _check_target(parts: WebhookParts, url: str) -> None:
    try:
        await parts.targets.check(url)
    except TargetRefusedError as exc:  # answered as any invalid request (422)
        raise Invalid(exc.detail, code=exc.code) from None


async def create_webhook(
    database: Database, parts: WebhookParts, user: Identity, request: WebhookCreate
) -> WebhookCreated:
    """Create a webhook; the answer holds its signing secret, shown only this once."""
    async with database.sessions() as session:
        authorise(
            await member_role(session, project_id=request.project_id, user_id=user.user_id),
            Need.WRITE,
            what="project",
        )
    event_types = check_event_types(request.event_types)
    box = _box_or_refuse(parts)
    await _check_target(parts, request.url)
    secret = generate_secret()
    now = parts.clock()
    webhook_id = str(uuid.uuid4())
    w = parts.tables.webhooks
    async with database.unit_of_work(actor=user.user_id) as uow:
        authorise(  # again inside the transaction: membership may have changed meanwhile
            await member_role(uow.session, project_id=request.project_id, user_id=user.user_id),
            Need.WRITE,
            what="project",
        )
        await uow.session.execute(
            insert(w).values(
                id=webhook_id,
                project_id=request.project_id,
                url=request.url.strip(),
                description=request.description,
                event_types=event_types,
                secret=box.seal(secret),
                enabled=True,
                consecutive_failures=0,
                created_by=user.user_id,
                created_at=now,
                updated_at=now,
            )
        )
        row = (await uow.session.execute(select(w).where(w.c.id == webhook_id))).mappings().one()
    return WebhookCreated(**webhook_view(row).model_dump(), secret=secret)


async def update_webhook(
    database: Database,
    parts: WebhookParts,
    user: Identity,
    *,
    webhook_id: str,
    request: WebhookUpdate,
) -> Webhook:
    """Change the URL, event types, description, or pause / resume deliveries."""
    async with database.sessions() as session:
        await load_webhook(session, user, webhook_id=webhook_id, need=Need.WRITE)
    changes: dict[str, Any] = {}
    if request.url is not None:
        await _check_target(parts, request.url)
        changes["url"] = request.url.strip()
    if request.event_types is not None:
        changes["event_types"] = check_event_types(request.event_types)
    if request.description is not None:
        changes["description"] = request.description
    now = parts.clock()
    w = parts.tables.webhooks
    async with database.unit_of_work(actor=user.user_id) as uow:
        row, _role = await load_webhook(uow.session, user, webhook_id=webhook_id, need=Need.WRITE)
        if request.enabled is True and not row["enabled"]:
            # Resuming starts afresh: the failures that disabled it are forgiven.
            changes.update(
                enabled=True,
                disabled_reason=None,
                disabled_at=None,
                consecutive_failures=0,
                failing_since=None,
            )
        elif request.enabled is False and row["enabled"]:
            changes.update(
                enabled=False, disabled_reason=f"disabled by {user.user_id}", disabled_at=now
            )
        if changes:
            await uow.session.execute(
                update(w).where(w.c.id == webhook_id).values(**changes, updated_at=now)
            )
        row = (await uow.session.execute(select(w).where(w.c.id == webhook_id))).mappings().one()
    return webhook_view(row)


async def delete_webhook(
    database: Database, parts: WebhookParts, user: Identity, *, webhook_id: str
) -> None:
    """Delete a webhook with its delivery log (pending deliveries are dropped)."""
    t = parts.tables
    async with database.unit_of_work(actor=user.user_id) as uow:
        await load_webhook(uow.session, user, webhook_id=webhook_id, need=Need.WRITE)
        deliveries = select(t.deliveries.c.id).where(t.deliveries.c.webhook_id == webhook_id)
        await uow.session.execute(
            delete(t.attempts).where(t.attempts.c.delivery_id.in_(deliveries))
        )
        await uow.session.execute(
            delete(t.deliveries).where(t.deliveries.c.webhook_id == webhook_id)
        )
        await uow.session.execute(delete(t.webhooks).where(t.webhooks.c.id == webhook_id))


def _require_enabled(row: Any) -> None:
    if not row["enabled"]:
        raise Conflict(
            f"the webhook is disabled ({row['disabled_reason'] or 'no reason given'}); "
            "enable it first (PATCH enabled=true)",
            code="webhook_disabled",
        )


async def redeliver(
    database: Database, parts: WebhookParts, user: Identity, *, webhook_id: str, delivery_id: str
) -> WebhookDelivery:
    """Send a finished delivery again, with a fresh retry schedule (same message id)."""
    d = parts.tables.deliveries
    now = parts.clock()
    async with database.unit_of_work(actor=user.user_id) as uow:
        hook, _role = await load_webhook(uow.session, user, webhook_id=webhook_id, need=Need.WRITE)
        current = await get_delivery(uow.session, webhook_id=webhook_id, delivery_id=delivery_id)
        _require_enabled(hook)
        if current.state not in FINAL_STATES:
            raise Conflict(
                "the delivery is still being attempted; redeliver it once it has finished",
                code="delivery_in_progress",
            )
        await uow.session.execute(
            update(d)
            .where(d.c.id == delivery_id, d.c.state == current.state.value)
            .values(
                state=DeliveryState.PENDING,
                round_start=current.attempt_count,
                next_attempt_at=now,
                finished_at=None,
                updated_at=now,
            )
        )
        await enqueue(
            uow,
            parts.tables.jobs,
            job_id=job_id_for(delivery_id, current.attempt_count),
            kind=JOB_KIND,
            payload={"delivery_id": delivery_id},
        )
        return await get_delivery(uow.session, webhook_id=webhook_id, delivery_id=delivery_id)


async def send_test(
    database: Database, parts: WebhookParts, user: Identity, *, webhook_id: str
) -> WebhookDelivery:
    """Queue a ``WebhookTest`` message to the webhook (delivered like any event)."""
    now = parts.clock()
    event_id = str(uuid.uuid4())
    async with database.unit_of_work(actor=user.user_id) as uow:
        hook, _role = await load_webhook(uow.session, user, webhook_id=webhook_id, need=Need.WRITE)
        _require_enabled(hook)
        body = message_body(
            event_type=PING_EVENT_TYPE,
            occurred_at=now,
            data={
                "event_id": event_id,
                "project_id": hook["project_id"],
                "webhook_id": webhook_id,
                "message": "test message sent from Synthetic Data Studio",
            },
        )
        created = await add_deliveries(
            uow,
            parts.tables,
            [
                {
                    "id": str(uuid.uuid4()),
                    "webhook_id": webhook_id,
                    "project_id": hook["project_id"],
                    "event_id": event_id,
                    "event_type": PING_EVENT_TYPE,
                    "body": body,
                    "created_at": now,
                }
            ],
        )
        return await get_delivery(uow.session, webhook_id=webhook_id, delivery_id=created[0])
