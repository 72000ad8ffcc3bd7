"""The job runner under faults: a database outage at any step, a dead loop, a lost lease.

Finding 12 of issue 16: a 5-second PostgreSQL outage during a training killed the runner's loop
(the failed job's requeue, a database write, raised while the database was still down), so the
job stayed ``running`` forever and every later job ``queued``, while ``/ready`` said 200.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import MetaData, update

from sds_common.bus.consumer import wait_until
from sds_common.jobs import (
    FAILED,
    SUCCEEDED,
    JobContext,
    JobDeferredError,
    JobKind,
    JobLostError,
    JobRunner,
    add_job_table,
    enqueue,
    job_status,
    request_cancel,
)
from tests.support.flaky_db import FlakyDatabase


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[FlakyDatabase]:
    metadata = MetaData()
    add_job_table(metadata)
    db = FlakyDatabase(url=f"sqlite+aiosqlite:///{tmp_path / 'jobs.sqlite'}", metadata=metadata)
    await db.create_all()
    yield db
    db.down = False
    await db.dispose()


async def _enqueue(database: FlakyDatabase, job_id: str, kind: str = "work") -> None:
    async with database.unit_of_work(actor="t") as uow:
        await enqueue(uow, database.metadata.tables["jobs"], job_id=job_id, kind=kind, payload={})


async def _status(database: FlakyDatabase, job_id: str) -> str | None:
    return await job_status(database, database.metadata.tables["jobs"], job_id)


async def _finished(ctx: JobContext, status: str = SUCCEEDED) -> None:
    async with ctx.database.unit_of_work(actor="t") as uow:
        await ctx.finish(uow, status=status)


async def _failed(ctx: JobContext, code: str, message: str) -> None:
    async with ctx.database.unit_of_work(actor="t") as uow:
        await ctx.finish(uow, status=FAILED, error=f"{code}: {message}")


def _runner(
    database: FlakyDatabase,
    run: Callable[[JobContext], Awaitable[None]],
    give_up: Callable[[JobContext, str, str], Awaitable[None]] = _failed,
    **options: float,
) -> JobRunner:
    return JobRunner(
        database=database,
        table=database.metadata.tables["jobs"],
        kinds={"work": JobKind(run=run, give_up=give_up)},
        poll_s=0.02,
        **options,  # type: ignore[arg-type]
    )


async def _until(predicate: Callable[[], Awaitable[bool]], timeout_s: float = 10.0) -> None:
    await wait_until(predicate, timeout_s=timeout_s, interval_s=0.02)


async def test_a_database_outage_during_a_job_does_not_kill_the_runner(
    database: FlakyDatabase,
) -> None:
    """Finding 12: the job fails because the database went away; requeueing it must wait."""
    attempts: dict[str, list[int]] = {}

    async def work(ctx: JobContext) -> None:
        attempts.setdefault(ctx.id, []).append(ctx.attempt)
        if ctx.id == "training" and ctx.attempt == 1:
            database.down = True  # a progress write of the job hits the outage ...
            raise ConnectionResetError("connection to the database was lost")
        await _finished(ctx)

    runner = _runner(database, work, lease_s=5.0)
    await _enqueue(database, "training")
    runner.start()
    try:
        # ... and the runner's own writes keep failing for a while.
        await _until(lambda: _async(database.refused >= 3))
        database.down = False
        await _until(lambda: _is(database, "training", SUCCEEDED))
        await _enqueue(database, "next")
        await _until(lambda: _is(database, "next", SUCCEEDED))
        runner.check()  # alive: /ready says so
    finally:
        await runner.stop()
    assert attempts == {"training": [1, 2], "next": [1]}


async def test_giving_up_during_an_outage_is_retried_until_it_is_recorded(
    database: FlakyDatabase,
) -> None:
    """A permanent failure's announcement is a database write too: it waits for the database."""
    announced: list[str] = []

    async def work(ctx: JobContext) -> None:
        database.down = True
        raise ConnectionResetError("gone")

    async def give_up(ctx: JobContext, code: str, message: str) -> None:
        await _failed(ctx, code, message)
        announced.append(message)

    runner = _runner(database, work, give_up, max_attempts=1)
    await _enqueue(database, "j")
    runner.start()
    try:
        await _until(lambda: _async(database.refused >= 3))
        database.down = False
        await _until(lambda: _is(database, "j", FAILED))
        runner.check()
    finally:
        await runner.stop()
    assert len(announced) == 1
    # What a user reads: no exception class, no exception text.
    assert "ConnectionResetError" not in announced[0]
    assert "gone" not in announced[0]


async def test_a_dead_loop_makes_the_runner_unready(database: FlakyDatabase) -> None:
    runner = _runner(database, _finished)
    runner.start()
    try:
        runner.check()
        runner._tasks[0].cancel()  # whatever killed it, the loop is gone
        await asyncio.sleep(0.05)
        with pytest.raises(RuntimeError, match="not running"):
            runner.check()
    finally:
        await runner.stop()


async def test_a_runner_that_cannot_reach_its_database_for_a_lease_is_unready(
    database: FlakyDatabase,
) -> None:
    runner = _runner(database, _finished, lease_s=0.3)
    runner.start()
    try:
        await asyncio.sleep(0.1)
        runner.check()
        database.down = True
        await asyncio.sleep(0.5)
        with pytest.raises(RuntimeError, match="stalled"):
            runner.check()
        database.down = False
        await _until(lambda: _checks(runner))
    finally:
        await runner.stop()


async def test_a_job_that_lost_its_lease_cannot_finish(database: FlakyDatabase) -> None:
    """Another worker claimed the job after the lease ran out: the first one must not finish it."""
    table = database.metadata.tables["jobs"]
    outcome: list[type[BaseException]] = []

    async def work(ctx: JobContext) -> None:
        async with database.unit_of_work(actor="t") as uow:  # someone else owns it now
            await uow.session.execute(
                update(table).where(table.c.id == ctx.id).values(lease_owner="w-other")
            )
        try:
            await _finished(ctx)
        except JobLostError as exc:
            outcome.append(type(exc))
            raise

    await _enqueue(database, "k")
    await _runner(database, work).run_until_idle()
    assert outcome == [JobLostError]
    assert await _status(database, "k") == "running"  # still the other worker's


async def test_a_deferral_is_given_up_after_the_longest_wait(database: FlakyDatabase) -> None:
    """No job waits forever for an input that never comes."""
    given_up: list[tuple[str, str]] = []

    async def work(ctx: JobContext) -> None:
        raise JobDeferredError("waiting for the dataset's profile", delay_s=0.01)

    async def give_up(ctx: JobContext, code: str, message: str) -> None:
        given_up.append((code, message))
        await _failed(ctx, code, message)

    runner = _runner(database, work, give_up, max_wait_s=0.3)
    await _enqueue(database, "waits")
    runner.start()
    try:
        await _until(lambda: _is(database, "waits", FAILED))
    finally:
        await runner.stop()
    assert given_up == [
        ("inputs_missing", "gave up waiting after 0 s: waiting for the dataset's profile")
    ]


async def test_a_cancel_request_reaches_a_running_job_within_a_second(
    database: FlakyDatabase,
) -> None:
    """Finding 17 (runner side): the flag is polled while the job runs, not only at heartbeats."""
    started = asyncio.Event()
    seen_after: list[float] = []

    async def work(ctx: JobContext) -> None:
        started.set()
        loop = asyncio.get_running_loop()
        begin = loop.time()
        while not ctx.stop_requested():
            await asyncio.sleep(0.01)
        seen_after.append(loop.time() - begin)
        await _finished(ctx, "cancelled")

    runner = _runner(database, work, lease_s=60.0)
    await _enqueue(database, "c")
    runner.start()
    try:
        await asyncio.wait_for(started.wait(), 5)
        async with database.unit_of_work(actor="t") as uow:
            await request_cancel(uow, database.metadata.tables["jobs"], job_id="c")
        await _until(lambda: _is(database, "c", "cancelled"), timeout_s=5)
    finally:
        await runner.stop()
    assert seen_after[0] < 1.5


async def _async(value: bool) -> bool:
    return value


async def _is(database: FlakyDatabase, job_id: str, status: str) -> bool:
    try:
        return await _status(database, job_id) == status
    except ConnectionRefusedError:
        return False


async def _checks(runner: JobRunner) -> bool:
    try:
        runner.check()
    except RuntimeError:
        return False
    return True


async def test_a_job_that_stops_making_progress_is_given_up(database: FlakyDatabase) -> None:
    """A hung job (its thread never returns) would renew its lease forever: it is stopped."""
    release = threading.Event()
    saw_stop: list[bool] = []
    given_up: list[tuple[str, str]] = []

    def hangs(ctx: JobContext) -> None:
        ctx.progressed()
        release.wait(10)  # stuck, e.g. a deadlocked library call
        saw_stop.append(ctx.stop_requested())  # if it ever wakes, it must stop

    async def work(ctx: JobContext) -> None:
        if ctx.id == "hung":
            await asyncio.to_thread(hangs, ctx)
        await _finished(ctx)

    async def give_up(ctx: JobContext, code: str, message: str) -> None:
        given_up.append((code, message))
        await _failed(ctx, code, message)

    table = database.metadata.tables["jobs"]
    kind = JobKind(run=work, give_up=give_up, stall_s=0.3)
    runner = JobRunner(database=database, table=table, kinds={"work": kind}, poll_s=0.02)
    await _enqueue(database, "hung")
    runner.start()
    try:
        await _until(lambda: _is(database, "hung", FAILED), timeout_s=10)
        await _enqueue(database, "next")
        await _until(lambda: _is(database, "next", SUCCEEDED), timeout_s=10)
        runner.check()
    finally:
        release.set()
        await runner.stop()
    assert given_up == [("stalled", "the job made no progress for 0.3 s and was stopped")]
    await _until(lambda: _async(saw_stop == [True]))


async def test_a_job_that_reports_progress_is_not_stopped(database: FlakyDatabase) -> None:
    async def work(ctx: JobContext) -> None:
        for _ in range(20):  # longer than stall_s in all, never that long between reports
            ctx.progressed()
            await asyncio.sleep(0.05)
        await _finished(ctx)

    table = database.metadata.tables["jobs"]
    kind = JobKind(run=work, give_up=_failed, stall_s=0.3)
    runner = JobRunner(database=database, table=table, kinds={"work": kind}, poll_s=0.02)
    await _enqueue(database, "busy")
    await runner.run_until_idle()
    assert await _status(database, "busy") == SUCCEEDED
