"""A job's progress as Server-Sent Events: replay from the table, then live events.

The stream first LISTENS to the job's live events (in-process, or Redis pub/sub across gateway
replicas), then replays the ``job_events`` table after the client's ``Last-Event-ID`` (the
table's sequence number), then sends live events, dropping those it already replayed
(``seq`` ≤ the last one sent). Listening before reading is what leaves no gap: an event committed
during the replay is either in the replay or arrives live (or both, and is sent once).

When live events may have been lost (the listener lagged, Redis reconnected) or nothing arrived
for ``poll_interval_s``, the stream reads the table again after its last sequence number. One
job's events are written by one consumer at a time (its partition), so they commit in ``seq``
order. The stream ends after the event that made the job final; comments keep idle connections
open through proxies.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlalchemy import select

from sds_common.db import Database
from sds_gateway.adapters.notifier import JobNotifier
from sds_gateway.adapters.orm import job_events, jobs
from sds_gateway.adapters.progress import JobEvent
from sds_gateway.domain.errors import BadRequest
from sds_gateway.domain.status import is_terminal

BATCH = 500
RETRY_MS = 3000


#: Sequence numbers are 64-bit signed integers in both databases.
MAX_SEQ = 2**63 - 1
_MAX_DIGITS = len(str(MAX_SEQ))


def parse_last_event_id(value: str | None) -> int:
    """The sequence number a client has seen (0 when it sends none, or an empty one).

    Raises:
        BadRequest: anything but the decimal sequence number the stream sent as ``id``: digits
            only, at most 2**63 - 1 (a longer number cannot be a sequence number, and would
            overflow the database's integer, or Python's limit on converting digits).
    """
    text = (value or "").strip()
    if not text:
        return 0
    if len(text) > _MAX_DIGITS or not (text.isascii() and text.isdigit()) or int(text) > MAX_SEQ:
        raise BadRequest(
            "Last-Event-ID must be the id of an event this stream sent (a sequence number)",
            code="invalid_last_event_id",
        )
    return int(text)


def format_event(*, seq: int, event_type: str, data: object) -> bytes:
    """One SSE message."""
    payload = json.dumps(data, separators=(",", ":"), default=str)
    return f"id: {seq}\nevent: {event_type}\ndata: {payload}\n\n".encode()


@dataclass(frozen=True, slots=True)
class _Page:
    events: list[JobEvent]
    status: str | None
    full: bool


async def _read(database: Database, job_id: str, after: int) -> _Page:
    async with database.sessions() as session:
        # Status first: the event that made the job final commits with the status, so a final
        # status read here guarantees that event is in the read below.
        status = await session.scalar(select(jobs.c.status).where(jobs.c.id == job_id))
        rows = (
            await session.execute(
                select(job_events.c.seq, job_events.c.type, job_events.c.data)
                .where(job_events.c.job_id == job_id, job_events.c.seq > after)
                .order_by(job_events.c.seq)
                .limit(BATCH)
            )
        ).all()
    events = [JobEvent(job_id=job_id, seq=r.seq, type=r.type, data=r.data) for r in rows]
    return _Page(events=events, status=status, full=len(rows) == BATCH)


def _is_final(event: JobEvent) -> bool:
    status = event.data.get("status")
    return isinstance(status, str) and is_terminal(status)


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
    async with notifier.listen(job_id) as live:
        yield f"retry: {RETRY_MS}\n\n".encode()
        last_sent = time.monotonic()
        while True:
            # Cleared BEFORE the read: a loss signalled from now on is not covered by it.
            live.take_lagged()
            page = await _read(database, job_id, after)
            for event in page.events:
                yield format_event(seq=event.seq, event_type=event.type, data=event.data)
                after = event.seq
                last_sent = time.monotonic()
            if page.full:
                continue
            if page.status is None or is_terminal(page.status):
                return
            polled = time.monotonic()
            while True:
                idle = time.monotonic() - last_sent
                if idle >= heartbeat_s:
                    yield b": keep-alive\n\n"
                    last_sent, idle = time.monotonic(), 0.0
                wait_s = min(poll_interval_s - (time.monotonic() - polled), heartbeat_s - idle)
                news = await live.next(timeout_s=max(0.01, wait_s))
                if live.take_lagged():
                    break  # live events may be missing: read the table
                if news is None:
                    if time.monotonic() - polled >= poll_interval_s:
                        break
                    continue
                if news.seq <= after:
                    continue  # replayed already
                yield format_event(seq=news.seq, event_type=news.type, data=news.data)
                after = news.seq
                last_sent = time.monotonic()
                if _is_final(news):
                    return
