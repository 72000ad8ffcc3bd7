"""What a running job sees (``JobContext``) and how a kind of job is run (``JobKind``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table

from sds_common.db.uow import Database, UnitOfWork
from sds_common.jobs.table import finish

if TYPE_CHECKING:
    from sds_common.jobs.runner import JobRunner


@dataclass
class JobContext:
    """What a running job sees.

    Attributes:
        id: the job's id.
        kind: its kind.
        payload: what the handler that queued it stored (without the runner's trace key).
        attempt: this claim's attempt number (1 on the first run).
        database: the service's database.
        table: the jobs table.
        runner: the runner executing it.
        created_at: when the job was queued.
        trace: the trace headers of whoever queued it (restored while it runs).
        cancelled: set once a cancellation request has been seen (polled while it runs).
        lost: set once the claim has lost its lease to another worker.
        stalled: set once the job went quiet past its kind's ``stall_s`` and was given up.
        last_progress: when the job last reported progress (``time.monotonic``).
    """

    id: str
    kind: str
    payload: dict[str, Any]
    attempt: int
    database: Database
    table: Table
    runner: JobRunner
    created_at: datetime | None = None
    trace: Sequence[tuple[str, bytes]] = ()
    # Read from worker threads (a training polls them between batches), hence threading.
    cancelled: threading.Event = field(default_factory=threading.Event)
    lost: threading.Event = field(default_factory=threading.Event)
    stalled: threading.Event = field(default_factory=threading.Event)
    last_progress: float = field(default_factory=time.monotonic)

    def progressed(self) -> None:
        """Record that the job moved on (cheap; any thread may call it; see ``JobKind``)."""
        self.last_progress = time.monotonic()

    @property
    def claim(self) -> tuple[str, int]:
        """``(worker id, attempt)``: what fences this claim's writes (see ``finish``)."""
        return self.runner.worker_id, self.attempt

    def stop_requested(self) -> bool:
        """Whether the job should stop at its next safe point (cheap; any thread may call it).

        True when a user cancelled it, when the process is shutting down, or when the claim
        was lost; ``must_hand_back`` tells the last two from a cancellation.
        """
        return self.cancelled.is_set() or self.must_hand_back

    @property
    def must_hand_back(self) -> bool:
        """Whether the job must stop without finishing (shutdown, lost claim, or a stall)."""
        return self.lost.is_set() or self.stalled.is_set() or self.runner.shutting_down.is_set()

    async def heartbeat(self) -> bool:
        """Renew the lease now; returns whether cancellation was requested."""
        return await self.runner.renew(self)

    async def finish(self, uow: UnitOfWork, *, status: str, error: str | None = None) -> None:
        """Mark this job terminal inside ``uow`` (commit it with the events that announce it).

        Raises:
            JobLostError: another claim holds the job now; ``uow`` must roll back.
        """
        await finish(uow, self.table, job_id=self.id, status=status, error=error, claim=self.claim)


JobHandler = Callable[[JobContext], Awaitable[None]]
GiveUpHandler = Callable[[JobContext, str, str], Awaitable[None]]


@dataclass(frozen=True)
class JobKind:
    """How to run one kind of job.

    Attributes:
        run: does the work; must call ``ctx.finish(uow, status=...)`` in its final transaction.
            Raise ``JobFailedError`` for a permanent failure, ``JobDeferredError`` to wait.
        give_up: announces a permanent failure (code, message) in a transaction it opens, and
            calls ``ctx.finish(uow, status="failed")`` there. The message is shown to users: the
            runner's own messages name no exception and no internals.
        stall_s: for work that reports progress (``ctx.progressed()``): the longest it may go
            without, from its claim on, before the runner stops it and gives it up (``stalled``);
            None for work that cannot report progress.
    """

    run: JobHandler
    give_up: GiveUpHandler
    stall_s: float | None = None
