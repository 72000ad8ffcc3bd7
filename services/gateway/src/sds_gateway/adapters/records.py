"""Small SQL building blocks shared by commands and event handlers.

Status changes are conditional updates (``WHERE status IN (lower ranks)``), so they are atomic,
idempotent and never move a status backwards whatever order events arrive in.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sds_gateway.adapters.notifier import JobNotifier
from sds_gateway.adapters.orm import job_events, jobs, project_members, projects
from sds_gateway.adapters.progress import JobEvent
from sds_gateway.domain.access import KEY_SCOPE, capped_role
from sds_gateway.domain.status import RUN_RANK, RunStatus, predecessors


def utcnow() -> datetime:
    """The current time, UTC."""
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands timestamps back naive; they were written in UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def utc(value: datetime) -> datetime:
    """Like ``as_utc`` for a column that is never null."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


async def advance(
    session: AsyncSession,
    table: Table,
    *,
    row_id: str,
    ranks: Mapping[str, int],
    status: str,
    values: Mapping[str, Any] | None = None,
) -> bool:
    """Move a row to ``status`` (with ``values``) if that goes forward; return whether it did."""
    result = await session.execute(
        update(table)
        .where(table.c.id == row_id, table.c.status.in_(predecessors(ranks, status)))
        .values(status=status, updated_at=utcnow(), **(values or {}))
    )
    return bool(getattr(result, "rowcount", 0))


async def create_job(
    session: AsyncSession,
    *,
    job_id: str,
    project_id: str,
    kind: str,
    message: str,
) -> None:
    """Insert a queued job and its first event."""
    now = utcnow()
    await session.execute(
        insert(jobs).values(
            id=job_id,
            project_id=project_id,
            kind=kind,
            status=RunStatus.QUEUED,
            progress=0.0,
            message=message,
            created_at=now,
            updated_at=now,
        )
    )
    await session.execute(
        insert(job_events).values(
            job_id=job_id,
            type="queued",
            data={"status": RunStatus.QUEUED.value, "progress": 0.0, "message": message},
            created_at=now,
        )
    )


async def track(
    session: AsyncSession,
    notifier: JobNotifier | None,
    *,
    job_id: str,
    event_type: str,
    status: RunStatus,
    data: Mapping[str, Any],
    progress: float | None = None,
    message: str | None = None,
) -> bool:
    """Record progress of a job: update it if that goes forward, append an event, wake streams.

    ``running`` may repeat (each progress report); final statuses apply once.
    """
    allowed = (
        (RunStatus.QUEUED, RunStatus.RUNNING)
        if status is RunStatus.RUNNING
        else predecessors(RUN_RANK, status)
    )
    values: dict[str, Any] = {"status": status, "updated_at": utcnow()}
    if progress is not None:
        values["progress"] = max(0.0, min(1.0, progress))
    if message is not None:
        values["message"] = message
    result = await session.execute(
        update(jobs).where(jobs.c.id == job_id, jobs.c.status.in_(allowed)).values(**values)
    )
    if not getattr(result, "rowcount", 0):
        return False
    payload = {"status": status.value, **data}
    if progress is not None:
        payload["progress"] = values["progress"]
    if message is not None:
        payload["message"] = message
    seq = await session.scalar(
        insert(job_events)
        .values(job_id=job_id, type=event_type, data=payload, created_at=values["updated_at"])
        .returning(job_events.c.seq)
    )
    if notifier is not None and seq is not None:
        notifier.after_commit(
            session, JobEvent(job_id=job_id, seq=int(seq), type=event_type, data=payload)
        )
    return True


async def member_role(session: AsyncSession, *, project_id: str, user_id: str) -> str | None:
    """The user's role in a live project, or None when not a member (or no such project).

    Within a request made with an API key, the role is capped by the key's scope (None outside
    its project; see ``domain.access``).
    """
    role: str | None = await session.scalar(
        select(project_members.c.role)
        .join(projects, projects.c.id == project_members.c.project_id)
        .where(
            project_members.c.project_id == project_id,
            project_members.c.user_id == user_id,
            projects.c.deleted_at.is_(None),
        )
    )
    return capped_role(role, project_id=project_id, scope=KEY_SCOPE.get())
