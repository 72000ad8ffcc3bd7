"""Durable jobs: claimed once, deferred, retried, given up, and resumed after a crash."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import MetaData, update

from sds_common.db import Database, create_engine
from sds_common.jobs import (
    FAILED,
    SUCCEEDED,
    JobContext,
    JobDeferredError,
    JobFailedError,
    JobKind,
    JobRunner,
    add_job_table,
    enqueue,
    job_status,
    request_cancel,
)


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    metadata = MetaData()
    add_job_table(metadata)
    db = Database(
        engine=create_engine(f"sqlite+aiosqlite:///{tmp_path / 'jobs.sqlite'}"), metadata=metadata
    )
    await db.create_all()
    yield db
    await db.dispose()


class Recorder:
    def __init__(self) -> None:
        self.runs: list[tuple[str, int]] = []
        self.given_up: list[tuple[str, str, str]] = []
        self.behaviour: dict[str, list[BaseException | None]] = {}

    async def run(self, ctx: JobContext) -> None:
        self.runs.append((ctx.id, ctx.attempt))
        plan = self.behaviour.get(ctx.id, [])
        outcome = plan.pop(0) if plan else None
        if outcome is not None:
            raise outcome
        async with ctx.database.unit_of_work(actor="t") as uow:
            await ctx.finish(uow, status=SUCCEEDED)

    async def give_up(self, ctx: JobContext, code: str, message: str) -> None:
        self.given_up.append((ctx.id, code, message))
        async with ctx.database.unit_of_work(actor="t") as uow:
            await ctx.finish(uow, status=FAILED, error=message)


def runner_for(database: Database, recorder: Recorder, **kwargs: float) -> JobRunner:
    table = database.metadata.tables["jobs"]
    return JobRunner(
        database=database,
        table=table,
        kinds={"work": JobKind(run=recorder.run, give_up=recorder.give_up)},
        poll_s=0.02,
        **kwargs,  # type: ignore[arg-type]
    )


async def _enqueue(database: Database, job_id: str) -> bool:
    async with database.unit_of_work(actor="t") as uow:
        return await enqueue(
            uow, database.metadata.tables["jobs"], job_id=job_id, kind="work", payload={"n": 1}
        )


async def test_enqueue_is_idempotent_and_a_job_runs_once(database: Database) -> None:
    recorder = Recorder()
    assert await _enqueue(database, "a") is True
    assert await _enqueue(database, "a") is False  # redelivered event: no second job
    await runner_for(database, recorder).run_until_idle()
    assert recorder.runs == [("a", 1)]
    assert await job_status(database, database.metadata.tables["jobs"], "a") == SUCCEEDED


async def test_permanent_failure_is_given_up_with_its_reason(database: Database) -> None:
    recorder = Recorder()
    recorder.behaviour["b"] = [JobFailedError("bad_config", "ε is negative")]
    await _enqueue(database, "b")
    await runner_for(database, recorder).run_until_idle()
    assert recorder.given_up == [("b", "bad_config", "ε is negative")]
    assert await job_status(database, database.metadata.tables["jobs"], "b") == FAILED


async def test_transient_failures_are_retried_then_given_up(database: Database) -> None:
    recorder = Recorder()
    recorder.behaviour["c"] = [RuntimeError("flaky"), RuntimeError("flaky"), RuntimeError("flaky")]
    await _enqueue(database, "c")
    table = database.metadata.tables["jobs"]
    runner = runner_for(database, recorder, max_attempts=3)
    for _ in range(3):
        await runner.run_until_idle()
        async with database.sessions() as session, session.begin():  # skip the backoff wait
            await session.execute(update(table).values(not_before=None))
    assert [attempt for _, attempt in recorder.runs] == [1, 2, 3]
    assert recorder.given_up[0][1] == "internal_error"
    # The message reaches users: the exception's class and text stay in the log.
    assert "flaky" not in recorder.given_up[0][2]
    assert "RuntimeError" not in recorder.given_up[0][2]
    assert "failed 3 times" in recorder.given_up[0][2]


async def test_deferred_job_waits_without_using_an_attempt(database: Database) -> None:
    recorder = Recorder()
    recorder.behaviour["d"] = [JobDeferredError("dataset not there yet", delay_s=0.05)]
    await _enqueue(database, "d")
    runner = runner_for(database, recorder)
    await runner.run_until_idle()
    assert await job_status(database, database.metadata.tables["jobs"], "d") == "queued"
    await asyncio.sleep(0.1)
    await runner.run_until_idle()
    assert recorder.runs == [("d", 1), ("d", 1)]
    assert await job_status(database, database.metadata.tables["jobs"], "d") == SUCCEEDED


async def test_a_crashed_workers_job_is_resumed_after_its_lease(database: Database) -> None:
    started = asyncio.Event()
    release = asyncio.Event()
    attempts: list[int] = []

    async def slow(ctx: JobContext) -> None:
        attempts.append(ctx.attempt)
        if ctx.attempt == 1:
            started.set()
            await release.wait()  # "crashes" here: the task is cancelled below
        async with ctx.database.unit_of_work(actor="t") as uow:
            await ctx.finish(uow, status=SUCCEEDED)

    async def give_up(ctx: JobContext, code: str, message: str) -> None:
        raise AssertionError(f"should not give up: {code} {message}")

    table = database.metadata.tables["jobs"]
    kinds = {"work": JobKind(run=slow, give_up=give_up)}
    first = JobRunner(database=database, table=table, kinds=kinds, lease_s=0.2, poll_s=0.02)
    await _enqueue(database, "e")
    first.start()
    await asyncio.wait_for(started.wait(), 5)
    await first.stop(grace_s=0.01)  # the worker dies with the job running
    assert await job_status(database, table, "e") == "running"
    await asyncio.sleep(0.3)  # the lease expires
    second = JobRunner(database=database, table=table, kinds=kinds, lease_s=5, poll_s=0.02)
    await second.run_until_idle()
    assert attempts == [1, 2]
    assert await job_status(database, table, "e") == SUCCEEDED


async def test_cancellation_flag_is_seen_by_the_heartbeat(database: Database) -> None:
    seen: list[bool] = []

    async def watch(ctx: JobContext) -> None:
        seen.append(await ctx.heartbeat())
        async with ctx.database.unit_of_work(actor="t") as uow:
            await request_cancel(uow, ctx.table, job_id=ctx.id)
        seen.append(await ctx.heartbeat())
        async with ctx.database.unit_of_work(actor="t") as uow:
            await ctx.finish(uow, status="cancelled")

    table = database.metadata.tables["jobs"]
    runner = JobRunner(
        database=database,
        table=table,
        kinds={"work": JobKind(run=watch, give_up=Recorder().give_up)},
    )
    await _enqueue(database, "f")
    await runner.run_until_idle()
    assert seen == [False, True]
    assert await job_status(database, table, "f") == "cancelled"
