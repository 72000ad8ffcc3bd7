"""Webhook reads behind the GET routes, scoped to the caller like every other read."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from sds_common.auth import Identity
from sds_gateway.adapters.orm import project_members, projects, webhook_tables
from sds_gateway.adapters.records import as_utc, member_role, utc
from sds_gateway.domain.access import Need, ProjectRole, authorise, scope_of
from sds_gateway.domain.errors import NotFound
from sds_gateway.domain.webhooks import DeliveryState
from sds_gateway.schemas.common import Page
from sds_gateway.schemas.webhooks import DeliveryAttempt, Webhook, WebhookDelivery
from sds_gateway.views import page_of

W = webhook_tables.webhooks
D = webhook_tables.deliveries
A = webhook_tables.attempts


def webhook_view(row: RowMapping) -> Webhook:
    """The API form of a ``webhooks`` row."""
    return Webhook(
        id=row["id"],
        project_id=row["project_id"],
        url=row["url"],
        description=row["description"],
        event_types=list(row["event_types"]),
        enabled=bool(row["enabled"]),
        disabled_reason=row["disabled_reason"],
        disabled_at=as_utc(row["disabled_at"]),
        consecutive_failures=row["consecutive_failures"],
        failing_since=as_utc(row["failing_since"]),
        created_by=row["created_by"],
        created_at=utc(row["created_at"]),
        updated_at=utc(row["updated_at"]),
    )


def delivery_view(row: RowMapping, attempts: Sequence[RowMapping]) -> WebhookDelivery:
    """The API form of a ``webhook_deliveries`` row and its attempts."""
    return WebhookDelivery(
        id=row["id"],
        webhook_id=row["webhook_id"],
        event_id=row["event_id"],
        event_type=row["event_type"],
        state=DeliveryState(row["state"]),
        attempt_count=row["attempts"],
        next_attempt_at=as_utc(row["next_attempt_at"]),
        last_status_code=row["last_status_code"],
        last_error=row["last_error"],
        created_at=utc(row["created_at"]),
        updated_at=utc(row["updated_at"]),
        finished_at=as_utc(row["finished_at"]),
        attempts=[
            DeliveryAttempt(
                number=a["number"],
                attempted_at=utc(a["attempted_at"]),
                status_code=a["status_code"],
                error=a["error"],
                latency_ms=a["latency_ms"],
            )
            for a in attempts
        ],
    )


async def load_webhook(
    session: AsyncSession, user: Identity, *, webhook_id: str, need: Need
) -> tuple[RowMapping, ProjectRole]:
    """A webhook the user may access as ``need``.

    Raises:
        NotFound: no such webhook, or the user is not a member of its project.
        Forbidden: a member whose role does not allow ``need``.
    """
    row = (await session.execute(select(W).where(W.c.id == webhook_id))).mappings().first()
    if row is None:
        raise NotFound("webhook not found")
    role = await member_role(session, project_id=row["project_id"], user_id=user.user_id)
    return row, authorise(role, need, what="webhook")


async def list_webhooks(
    session: AsyncSession, user: Identity, *, project_id: str | None, limit: int, cursor: str | None
) -> Page[Webhook]:
    """Webhooks of the live projects the user is a member of, optionally of one project.

    An API key sees only its own project's.
    """
    query = (
        select(W)
        .join(
            project_members,
            and_(
                project_members.c.project_id == W.c.project_id,
                project_members.c.user_id == user.user_id,
            ),
        )
        .join(projects, and_(projects.c.id == W.c.project_id, projects.c.deleted_at.is_(None)))
    )
    if project_id is not None:
        query = query.where(W.c.project_id == project_id)
    scope = scope_of(user)
    if scope is not None:
        query = query.where(W.c.project_id == scope.project_id)
    rows, next_cursor = await page_of(session, query, W, limit=limit, cursor=cursor)
    return Page(items=[webhook_view(row) for row in rows], next_cursor=next_cursor)


async def get_webhook(session: AsyncSession, user: Identity, *, webhook_id: str) -> Webhook:
    """One webhook the user may read."""
    row, _role = await load_webhook(session, user, webhook_id=webhook_id, need=Need.READ)
    return webhook_view(row)


async def attempts_of(
    session: AsyncSession, delivery_ids: Sequence[str]
) -> dict[str, list[RowMapping]]:
    """The attempts of each delivery, in order."""
    found: dict[str, list[RowMapping]] = {delivery_id: [] for delivery_id in delivery_ids}
    if delivery_ids:
        rows = (
            await session.execute(
                select(A)
                .where(A.c.delivery_id.in_(delivery_ids))
                .order_by(A.c.delivery_id, A.c.number)
            )
        ).mappings()
        for row in rows:
            found[row["delivery_id"]].append(row)
    return found


async def list_deliveries(
    session: AsyncSession,
    user: Identity,
    *,
    webhook_id: str,
    state: DeliveryState | None,
    limit: int,
    cursor: str | None,
) -> Page[WebhookDelivery]:
    """A webhook's delivery log, newest first, each delivery with its attempts."""
    await load_webhook(session, user, webhook_id=webhook_id, need=Need.READ)
    query: Any = select(D).where(D.c.webhook_id == webhook_id)
    if state is not None:
        query = query.where(D.c.state == state.value)
    rows, next_cursor = await page_of(session, query, D, limit=limit, cursor=cursor)
    attempts = await attempts_of(session, [row["id"] for row in rows])
    return Page(
        items=[delivery_view(row, attempts[row["id"]]) for row in rows], next_cursor=next_cursor
    )


async def get_delivery(
    session: AsyncSession, *, webhook_id: str, delivery_id: str
) -> WebhookDelivery:
    """One delivery of a webhook the caller was authorised on.

    Raises:
        NotFound: the webhook has no such delivery.
    """
    row = (
        (
            await session.execute(
                select(D).where(D.c.id == delivery_id, D.c.webhook_id == webhook_id)
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound("delivery not found")
    attempts = await attempts_of(session, [delivery_id])
    return delivery_view(row, attempts[delivery_id])
