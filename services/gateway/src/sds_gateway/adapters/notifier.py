"""In-process wake-ups for progress streams: a committed job event wakes its SSE readers at once.

The job-events table stays the source of truth (streams also poll it); this only cuts latency in
the process that applied the event. Several gateway replicas need a shared pub/sub (Redis) for the
same effect, which is a later step: until then other replicas fall back to their poll interval.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

_PENDING = "sds_gateway.notify_jobs"


class JobNotifier:
    """Lets stream readers wait for news about one job."""

    def __init__(self) -> None:
        self._waiters: dict[str, set[asyncio.Event]] = {}

    def notify(self, job_ids: Iterable[str]) -> None:
        """Wake every reader waiting on one of ``job_ids``."""
        for job_id in job_ids:
            for waiter in self._waiters.get(job_id, ()):
                waiter.set()

    async def wait(self, job_id: str, *, timeout_s: float) -> bool:
        """Wait until ``job_id`` is notified or ``timeout_s`` passes; return whether notified."""
        waiter = asyncio.Event()
        self._waiters.setdefault(job_id, set()).add(waiter)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter.wait(), timeout_s)
            return waiter.is_set()
        finally:
            waiters = self._waiters.get(job_id)
            if waiters is not None:
                waiters.discard(waiter)
                if not waiters:
                    del self._waiters[job_id]

    def after_commit(self, session: AsyncSession, job_id: str) -> None:
        """Notify ``job_id`` once ``session``'s transaction commits (never on a rollback)."""
        sync_session = session.sync_session
        pending: set[str] | None = sync_session.info.get(_PENDING)
        if pending is None:
            pending = set()
            sync_session.info[_PENDING] = pending

            def _committed(committed: Session) -> None:
                self.notify(committed.info.pop(_PENDING, ()))

            def _rolled_back(rolled_back: Session) -> None:
                rolled_back.info.pop(_PENDING, None)

            event.listen(sync_session, "after_commit", _committed, once=True)
            event.listen(sync_session, "after_soft_rollback", _rolled_back, once=True)
        pending.add(job_id)
