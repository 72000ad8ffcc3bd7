"""Progress streams: live events without polling, resume by Last-Event-ID, no gap, no duplicate."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from sds_gateway.adapters.notifier import JobNotifier
from sds_gateway.adapters.orm import job_events
from sds_gateway.adapters.progress import JobEvent, Listener
from sds_gateway.adapters.records import track
from sds_gateway.bootstrap import notifier_of
from sds_gateway.domain.status import RunStatus
from sds_gateway.entrypoints.sse import job_stream
from tests.unit.gateway.harness import Harness, running_gateway
from tests.unit.gateway.test_pipeline import _generator, _progress, _sse, _trained

#: Longer than any test: a stream that finishes did so on live events, not on a poll.
NO_POLL: dict[str, Any] = {"sse_poll_interval_s": 60.0}


async def _listening(gw: Harness, job_id: str) -> None:
    notifier = notifier_of(gw.service)

    async def ready() -> bool:
        return notifier.bus.listeners(job_id) > 0

    await gw.until(ready)


async def test_live_events_reach_the_stream_at_once_and_resume_by_last_event_id(
    tmp_path: Path,
) -> None:
    async with running_gateway(tmp_path, **NO_POLL) as gw:
        _, dataset_id, generator_id = await _generator(gw)
        path = f"/api/v1/jobs/{generator_id}/events"
        stream = asyncio.create_task(gw.call("GET", path))
        await _listening(gw, generator_id)
        for epoch in (1, 2, 3):
            await gw.publish(_progress(generator_id, epoch))
        await gw.publish(_trained(generator_id, dataset_id))
        response = await asyncio.wait_for(stream, timeout=10)
        events = _sse(response.text)
        assert [e["event"] for e in events] == ["queued"] + ["TrainingProgress"] * 3 + [
            "ModelTrained"
        ]
        ids = [int(e["id"]) for e in events]
        assert ids == sorted(set(ids))

        for seen in range(len(ids)):
            resumed = await gw.call("GET", path, headers={"Last-Event-ID": str(ids[seen])})
            assert [int(e["id"]) for e in _sse(resumed.text)] == ids[seen + 1 :]
        assert notifier_of(gw.service).bus.listeners(generator_id) == 0


class _ScriptedBus:
    """A job-event bus whose listener already holds the live events a test scripts."""

    def __init__(self) -> None:
        self.listener: Listener | None = None
        self.script: list[JobEvent] = []

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def publish(self, events: Sequence[JobEvent]) -> None:
        return None

    @contextlib.asynccontextmanager
    async def listen(self, job_id: str) -> AsyncIterator[Listener]:
        self.listener = Listener(job_id)
        for event in self.script:
            self.listener.deliver(event)
        yield self.listener

    def listeners(self, job_id: str) -> int:
        return 1 if self.listener is not None else 0


async def _record(gw: Harness, job_id: str, *, epoch: int, status: RunStatus) -> int:
    """Commit a job event WITHOUT publishing it live (as if its publication were lost)."""
    async with gw.service.database.unit_of_work(actor="test") as uow:
        assert await track(
            uow.session,
            None,
            job_id=job_id,
            event_type="TrainingProgress" if status is RunStatus.RUNNING else "ModelTrained",
            status=status,
            data={"epoch": epoch},
        )
    async with gw.service.database.sessions() as session:
        return int(await session.scalar(select(func.max(job_events.c.seq))) or 0)


async def _collect(stream: AsyncIterator[bytes]) -> list[dict[str, str]]:
    chunks = [chunk async for chunk in stream]
    return _sse(b"".join(chunks).decode())


async def test_live_events_already_replayed_are_sent_once(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, **NO_POLL) as gw:
        _, _, generator_id = await _generator(gw)
        first = await _record(gw, generator_id, epoch=1, status=RunStatus.RUNNING)
        second = await _record(gw, generator_id, epoch=2, status=RunStatus.RUNNING)
        bus = _ScriptedBus()
        # Committed while the stream replays: both in the table and on the live channel.
        bus.script = [
            JobEvent(job_id=generator_id, seq=first, type="TrainingProgress", data={}),
            JobEvent(job_id=generator_id, seq=second, type="TrainingProgress", data={}),
            JobEvent(
                job_id=generator_id,
                seq=second + 1,
                type="ModelTrained",
                data={"status": "succeeded"},
            ),
        ]
        stream = job_stream(
            database=gw.service.database,
            notifier=JobNotifier(bus),
            job_id=generator_id,
            after=0,
            poll_interval_s=60.0,
            heartbeat_s=60.0,
        )
        events = await asyncio.wait_for(_collect(stream), timeout=10)
        assert [int(e["id"]) for e in events][-3:] == [first, second, second + 1]
        assert [e["event"] for e in events] == [
            "queued",
            "TrainingProgress",
            "TrainingProgress",
            "ModelTrained",
        ]


async def test_a_lagging_listener_makes_the_stream_read_the_table(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, **NO_POLL) as gw:
        _, _, generator_id = await _generator(gw)
        bus = _ScriptedBus()
        stream = job_stream(
            database=gw.service.database,
            notifier=JobNotifier(bus),
            job_id=generator_id,
            after=0,
            poll_interval_s=60.0,
            heartbeat_s=60.0,
        )
        collected = asyncio.create_task(_collect(stream))
        await gw.until(lambda: _true_when(bus.listener is not None))
        await asyncio.sleep(0.1)
        lost = await _record(gw, generator_id, epoch=1, status=RunStatus.RUNNING)
        final = await _record(gw, generator_id, epoch=2, status=RunStatus.SUCCEEDED)
        assert bus.listener is not None
        bus.listener.lag()  # e.g. the Redis connection dropped while they were published
        events = await asyncio.wait_for(collected, timeout=10)
        assert [int(e["id"]) for e in events][-2:] == [lost, final]


async def _true_when(value: bool) -> bool:
    return value
