"""What the runner does while a job runs: renew its lease, watch for a cancel, and for a stall.

A job that reports progress (``ctx.progressed()``, a training at every step) and then goes
quiet for longer than its kind's ``stall_s`` is stalled: its attempt is cancelled and the runner
gives it up, so a hung job does not hold its lease (and its privacy budget) forever. Work that
cannot report progress (one long library call) sets no ``stall_s``; if its worker dies, its
lease runs out and it is claimed again, up to ``max_attempts``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from sds_common.jobs.context import JobContext
from sds_common.jobs.table import JobLostError

if TYPE_CHECKING:
    from sds_common.jobs.runner import JobRunner

log = logging.getLogger(__name__)


async def watch(
    ctx: JobContext,
    *,
    runner: JobRunner,
    attempt: asyncio.Task[None],
    stall_s: float | None,
    lease_s: float,
    cancel_poll_s: float,
) -> None:
    """Until cancelled: renew the lease every third of it, read the cancel flag in between.

    Args:
        ctx: the running job.
        runner: its runner (renewals, the cancel flag).
        attempt: the task running the job; cancelled when the job stalls.
        stall_s: the longest the job may go without ``ctx.progressed()`` once it reported
            progress (None: no limit).
        lease_s: the lease's length.
        cancel_poll_s: how often the cancel flag is read.
    """
    loop = asyncio.get_running_loop()
    renew_every = max(lease_s / 3, 0.05)
    poll_every = min(cancel_poll_s, renew_every)
    renew_at = loop.time() + renew_every
    while True:
        await asyncio.sleep(poll_every)
        if stall_s is not None and time.monotonic() - ctx.last_progress > stall_s:
            log.error("job %s made no progress for %.0f s: giving it up", ctx.id, stall_s)
            ctx.stalled.set()  # if it ever wakes, it stops at its next safe point
            attempt.cancel()
            return
        try:
            if loop.time() >= renew_at:
                cancel = await runner.renew(ctx)
                renew_at = loop.time() + renew_every
            else:
                cancel = await runner.cancel_requested(ctx.id)
        except JobLostError:
            log.warning("job %s lost its lease; it stops at its next safe point", ctx.id)
            return
        except Exception:  # a missed renewal is retried; the lease has slack for it
            log.warning("could not renew the lease of job %s", ctx.id, exc_info=True)
            continue
        if cancel:
            ctx.cancelled.set()
