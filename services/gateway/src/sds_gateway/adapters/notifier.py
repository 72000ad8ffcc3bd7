"""Publishes job events once their transaction commits, to the streams that follow the jobs.

Handlers record a job event in the ``job_events`` table (the source of truth) and hand it here;
it is published on the job-event bus (in-process or Redis, see ``adapters.progress``) only after
the commit, and never after a rollback, so a stream never shows an event that did not happen.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from sds_gateway.adapters.progress import InProcessJobEvents, JobEvent, JobEventBus, Listener

_PENDING = "sds_gateway.job_events"


class JobNotifier:
    """The gateway's side of the job-event bus: publish after commit, listen for streams.

    Args:
        bus: where events go (default: this process only).
    """

    def __init__(self, bus: JobEventBus | None = None) -> None:
        self.bus: JobEventBus = bus if bus is not None else InProcessJobEvents()
        self._publishing: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Connect the bus."""
        await self.bus.start()

    async def stop(self) -> None:
        """Let publications in flight finish, then disconnect the bus."""
        if self._publishing:
            await asyncio.gather(*self._publishing, return_exceptions=True)
        await self.bus.stop()

    @contextlib.asynccontextmanager
    async def listen(self, job_id: str) -> AsyncIterator[Listener]:
        """Listen to ``job_id``'s live events until the block exits."""
        async with self.bus.listen(job_id) as listener:
            yield listener

    def publish_soon(self, events: list[JobEvent]) -> None:
        """Publish ``events`` in the background (they are committed already)."""
        task = asyncio.get_running_loop().create_task(self.bus.publish(events))
        self._publishing.add(task)
        task.add_done_callback(self._publishing.discard)

    def after_commit(self, session: AsyncSession, job_event: JobEvent) -> None:
        """Publish ``job_event`` once ``session``'s transaction commits (never on a rollback)."""
        sync_session = session.sync_session
        pending: list[JobEvent] | None = sync_session.info.get(_PENDING)
        if pending is None:
            pending = []
            sync_session.info[_PENDING] = pending

            def _committed(committed: Session) -> None:
                events = committed.info.pop(_PENDING, [])
                if events:
                    self.publish_soon(events)

            def _rolled_back(rolled_back: Session) -> None:
                rolled_back.info.pop(_PENDING, None)

            event.listen(sync_session, "after_commit", _committed, once=True)
            event.listen(sync_session, "after_soft_rollback", _rolled_back, once=True)
        pending.append(job_event)
