"""A job's progress as Server-Sent Events, from the job-events table.

The table is the source of truth: a stream polls it, and the in-process notifier wakes it as soon
as a handler commits news about the job. ``Last-Event-ID`` (the table's sequence number) resumes
a stream where a dropped connection left it. The stream ends after the event that made the job
final; comments keep idle connections open through proxies.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

from sqlalchemy import select

from sds_common.db import Database
from sds_gateway.adapters.notifier import JobNotifier
from sds_gateway.adapters.orm import job_events, jobs
from sds_gateway.domain.status import is_terminal

BATCH = 500
RETRY_MS = 3000


def parse_last_event_id(value: str | None) -> int:
    """The sequence number a client has seen (0 when none or unreadable)."""
    if value is None or not value.strip().isdigit():
        return 0
    return int(value.strip())


def format_event(*, seq: int, event_type: str, data: object) -> bytes:
    """One SSE message."""
    payload = json.dumps(data, separators=(",", ":"), default=str)
    return f"id: {seq}\nevent: {event_type}\ndata: {payload}\n\n".encode()


async def job_stream(
    *,
    database: Database,
    notifier: JobNotifier,
    job_id: str,
    after: int,
    poll_interval_s: float,
    heartbeat_s: float,
) -> AsyncIterator[bytes]:
    """Yield the job's events after sequence ``after`` until the job is final."""
    yield f"retry: {RETRY_MS}\n\n".encode()
    last_sent = time.monotonic()
    while True:
        async with database.sessions() as session:
            # Status first: the event that made the job final commits with the status, so a
            # final status read here guarantees that event is in the read below.
            status = await session.scalar(select(jobs.c.status).where(jobs.c.id == job_id))
            rows = (
                await session.execute(
                    select(job_events.c.seq, job_events.c.type, job_events.c.data)
                    .where(job_events.c.job_id == job_id, job_events.c.seq > after)
                    .order_by(job_events.c.seq)
                    .limit(BATCH)
                )
            ).all()
        for row in rows:
            yield format_event(seq=row.seq, event_type=row.type, data=row.data)
            after = row.seq
            last_sent = time.monotonic()
        if len(rows) == BATCH:
            continue
        if status is None or is_terminal(status):
            return
        idle = time.monotonic() - last_sent
        if idle >= heartbeat_s:
            yield b": keep-alive\n\n"
            last_sent = time.monotonic()
            idle = 0.0
        await notifier.wait(job_id, timeout_s=max(0.01, min(poll_interval_s, heartbeat_s - idle)))
