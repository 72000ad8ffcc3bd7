"""Sending webhook deliveries: one durable background job per delivery round.

A delivery row is written in the transaction that saw its event (or asked for a redelivery or a
test) together with its job (``sds_common.jobs``), so a crash loses nothing: the job is claimed
again after its lease. Each run makes at most one attempt: it checks the target (SSRF rules at
send time, against DNS rebinding), signs and POSTs the stored body, records the attempt, and
either finishes or defers itself (``JobDeferredError``) until the next attempt is due. The
delivery row, not the job, holds the schedule, so a job resumed early just waits again. A
delivery whose project was deleted or whose webhook was disabled meanwhile is cancelled instead
of sent, with the reason as its last error.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from sds_common.db import Database, UnitOfWork
from sds_common.jobs import FAILED, SUCCEEDED, JobContext, JobDeferredError, JobKind, enqueue
from sds_gateway.adapters.orm import projects
from sds_gateway.adapters.records import as_utc
from sds_gateway.adapters.secret_box import SecretBoxError
from sds_gateway.adapters.webhook_http import SendResult
from sds_gateway.adapters.webhook_tables import WebhookTables
from sds_gateway.adapters.webhooks import WebhookParts
from sds_gateway.domain.webhook_signing import signed_headers
from sds_gateway.domain.webhook_targets import TargetRefusedError
from sds_gateway.domain.webhooks import DeliveryState

log = logging.getLogger(__name__)

JOB_KIND = "webhook-delivery"
ACTOR = "gateway.webhooks"


def job_id_for(delivery_id: str, round_start: int) -> str:
    """The job of one delivery round (a redelivery starts a new round, hence a new job)."""
    return f"webhook:{delivery_id}:{round_start}"


async def add_deliveries(
    uow: UnitOfWork, tables: WebhookTables, rows: list[dict[str, Any]]
) -> list[str]:
    """Insert new pending deliveries and queue their jobs; return the ids actually new.

    Each row needs ``id``, ``webhook_id``, ``project_id``, ``event_id``, ``event_type``,
    ``body`` and ``created_at``. An id already present (a redelivered event) is skipped.
    """
    if not rows:
        return []
    d = tables.deliveries
    dialect = postgresql if uow.session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(d).on_conflict_do_nothing(index_elements=["id"]).returning(d.c.id)
    values = [
        {
            **row,
            "state": DeliveryState.PENDING.value,
            "attempts": 0,
            "round_start": 0,
            "next_attempt_at": row["created_at"],
            "updated_at": row["created_at"],
        }
        for row in rows
    ]
    created = [str(r.id) for r in await uow.session.execute(statement, values)]
    for delivery_id in created:
        await enqueue(
            uow,
            tables.jobs,
            job_id=job_id_for(delivery_id, 0),
            kind=JOB_KIND,
            payload={"delivery_id": delivery_id},
        )
    return created


@dataclass(frozen=True, slots=True)
class _Due:
    """A pending delivery with its endpoint, as an attempt needs them."""

    webhook_id: str
    state: str
    attempts: int
    round_start: int
    next_attempt_at: datetime | None
    event_id: str
    body: str
    url: str
    secret: str
    enabled: bool
    disabled_reason: str | None
    project_deleted_at: datetime | None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a run of the delivery job leaves: wait ``retry_in_s``, or nothing left (None)."""

    retry_in_s: float | None = None


class WebhookDeliverer:
    """Makes delivery attempts and records them.

    Args:
        database: the gateway's database.
        parts: tables, sealing, target checks, sender, policy, clock and jitter.
    """

    def __init__(self, *, database: Database, parts: WebhookParts) -> None:
        self._database = database
        self._parts = parts

    def job_kind(self) -> JobKind:
        """The background job kind that runs deliveries."""
        return JobKind(run=self._run, give_up=self._give_up)

    async def _run(self, ctx: JobContext) -> None:
        outcome = await self.attempt(str(ctx.payload["delivery_id"]))
        if outcome.retry_in_s is not None:
            raise JobDeferredError("next webhook attempt not due yet", delay_s=outcome.retry_in_s)
        async with ctx.database.unit_of_work(actor=ACTOR) as uow:
            await ctx.finish(uow, status=SUCCEEDED)

    async def _give_up(self, ctx: JobContext, code: str, message: str) -> None:
        d = self._parts.tables.deliveries
        now = self._parts.clock()
        async with ctx.database.unit_of_work(actor=ACTOR) as uow:
            await uow.session.execute(
                update(d)
                .where(
                    d.c.id == str(ctx.payload["delivery_id"]),
                    d.c.state == DeliveryState.PENDING,
                )
                .values(
                    state=DeliveryState.FAILED,
                    last_error=f"delivery job gave up ({code}): {message}"[:2000],
                    next_attempt_at=None,
                    finished_at=now,
                    updated_at=now,
                )
            )
            await ctx.finish(uow, status=FAILED, error=message)

    async def attempt(self, delivery_id: str) -> Outcome:
        """Make the delivery's next attempt if it is due; see the module docstring."""
        t = self._parts.tables
        now = self._parts.clock()
        async with self._database.sessions() as session:
            row = (
                await session.execute(
                    select(
                        t.deliveries.c.state,
                        t.deliveries.c.attempts,
                        t.deliveries.c.round_start,
                        t.deliveries.c.next_attempt_at,
                        t.deliveries.c.event_id,
                        t.deliveries.c.body,
                        t.webhooks.c.id.label("webhook_id"),
                        t.webhooks.c.url,
                        t.webhooks.c.secret,
                        t.webhooks.c.enabled,
                        t.webhooks.c.disabled_reason,
                        projects.c.deleted_at.label("project_deleted_at"),
                    )
                    .join(t.webhooks, t.webhooks.c.id == t.deliveries.c.webhook_id)
                    .join(projects, projects.c.id == t.webhooks.c.project_id)
                    .where(t.deliveries.c.id == delivery_id)
                )
            ).first()
        if row is None:
            return Outcome()
        due_row = _Due(**row._asdict())
        return await self._attempt(due_row, delivery_id=delivery_id, now=now)

    async def _attempt(self, row: _Due, *, delivery_id: str, now: datetime) -> Outcome:
        if row.state != DeliveryState.PENDING:
            return Outcome()
        if row.project_deleted_at is not None:
            # Deleted (by its owner, or with their account) after the delivery was recorded.
            await self._cancel(delivery_id, error="not sent: the project was deleted", now=now)
            return Outcome()
        if not row.enabled:
            reason = row.disabled_reason or "disabled"
            await self._cancel(
                delivery_id, error=f"not sent: the webhook is disabled ({reason})", now=now
            )
            return Outcome()
        due = as_utc(row.next_attempt_at)
        if due is not None and due > now:
            return Outcome(retry_in_s=(due - now).total_seconds())
        result = await self._send(row, now=now)
        return await self._record(row, delivery_id=delivery_id, result=result, now=now)

    async def _send(self, row: _Due, *, now: datetime) -> SendResult:
        parts = self._parts
        if parts.box is None:
            return SendResult(
                status_code=None,
                error="not signed: SDS_WEBHOOK_SECRET_KEY is not configured",
                latency_ms=0.0,
            )
        try:
            secret = parts.box.open(row.secret)
        except SecretBoxError as exc:
            return SendResult(status_code=None, error=f"not signed: {exc}", latency_ms=0.0)
        try:
            target = await parts.targets.check(row.url)
        except TargetRefusedError as exc:
            return SendResult(
                status_code=None, error=f"not sent: {exc.detail}"[:2000], latency_ms=0.0
            )
        body = row.body.encode()
        headers = signed_headers(
            secret=secret, msg_id=row.event_id, timestamp=int(now.timestamp()), body=body
        )
        return await parts.sender.send(
            target, headers=headers, body=body, timeout_s=parts.policy.timeout_s
        )

    async def _cancel(self, delivery_id: str, *, error: str, now: datetime) -> None:
        d = self._parts.tables.deliveries
        async with self._database.unit_of_work(actor=ACTOR) as uow:
            await uow.session.execute(
                update(d)
                .where(d.c.id == delivery_id, d.c.state == DeliveryState.PENDING)
                .values(
                    state=DeliveryState.CANCELLED,
                    last_error=error[:2000],
                    next_attempt_at=None,
                    finished_at=now,
                    updated_at=now,
                )
            )

    async def _record(
        self, row: _Due, *, delivery_id: str, result: SendResult, now: datetime
    ) -> Outcome:
        parts = self._parts
        t = parts.tables
        number = row.attempts + 1
        delay = (
            None
            if result.ok
            else parts.policy.retry_delay(number - row.round_start, rand=parts.rand())
        )
        if result.ok:
            state, next_at = DeliveryState.SUCCEEDED, None
        elif delay is None:
            state, next_at = DeliveryState.FAILED, None
        else:
            state, next_at = DeliveryState.PENDING, now + timedelta(seconds=delay)
        async with self._database.unit_of_work(actor=ACTOR) as uow:
            # Conditional on what was read: a second runner that raced this one records nothing.
            claimed = await uow.session.execute(
                update(t.deliveries)
                .where(
                    t.deliveries.c.id == delivery_id,
                    t.deliveries.c.state == DeliveryState.PENDING,
                    t.deliveries.c.attempts == row.attempts,
                )
                .values(
                    state=state,
                    attempts=number,
                    next_attempt_at=next_at,
                    last_status_code=result.status_code,
                    last_error=result.error,
                    updated_at=now,
                    finished_at=None if state is DeliveryState.PENDING else now,
                )
            )
            if not getattr(claimed, "rowcount", 0):
                return Outcome()
            await uow.session.execute(
                insert(t.attempts).values(
                    delivery_id=delivery_id,
                    number=number,
                    attempted_at=now,
                    status_code=result.status_code,
                    error=result.error,
                    latency_ms=round(result.latency_ms, 3),
                )
            )
            await self._update_endpoint(uow, row=row, state=state, ok=result.ok, now=now)
        return Outcome(retry_in_s=delay if state is DeliveryState.PENDING else None)

    async def _update_endpoint(
        self, uow: UnitOfWork, *, row: _Due, state: DeliveryState, ok: bool, now: datetime
    ) -> None:
        w = self._parts.tables.webhooks
        if ok:
            await uow.session.execute(
                update(w)
                .where(w.c.id == row.webhook_id)
                .values(consecutive_failures=0, failing_since=None)
            )
            return
        values: dict[str, Any] = {"failing_since": func.coalesce(w.c.failing_since, now)}
        if state is DeliveryState.FAILED:
            values["consecutive_failures"] = w.c.consecutive_failures + 1
        await uow.session.execute(update(w).where(w.c.id == row.webhook_id).values(**values))
        endpoint = (
            await uow.session.execute(
                select(w.c.enabled, w.c.consecutive_failures, w.c.failing_since).where(
                    w.c.id == row.webhook_id
                )
            )
        ).one()
        reason = self._parts.policy.disable_reason(
            consecutive_failures=endpoint.consecutive_failures,
            failing_since=as_utc(endpoint.failing_since),
            now=now,
        )
        if reason is not None and endpoint.enabled:
            log.warning("webhook %s disabled: %s", row.webhook_id, reason)
            await uow.session.execute(
                update(w)
                .where(w.c.id == row.webhook_id)
                .values(enabled=False, disabled_reason=reason, disabled_at=now, updated_at=now)
            )
