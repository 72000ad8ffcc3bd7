"""Progress streams across gateway replicas through a real Redis: one replica consumes the events,
another serves the stream, and a reconnect with Last-Event-ID resumes without loss."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from sds_gateway.adapters.progress import JobEvent, RedisJobEvents
from sds_gateway.bootstrap import notifier_of
from tests.unit.gateway.harness import running_gateway
from tests.unit.gateway.test_pipeline import _generator, _progress, _sse, _trained

pytestmark = [pytest.mark.redis]


async def test_any_replica_streams_a_job_another_replica_consumed(
    tmp_path: Path, redis_url: str, unique_name: str
) -> None:
    shared: dict[str, Any] = {"redis_url": redis_url, "topic_prefix": f"{unique_name}."}
    # Both replicas share the database (one SQLite file here) and Redis, not the bus: only the
    # consumer replica sees the events. The streaming replica never polls within the test, so
    # whatever it streams after the replay came through Redis.
    async with (
        running_gateway(tmp_path, **shared) as consumer,
        running_gateway(tmp_path, sse_poll_interval_s=60.0, **shared) as streamer,
    ):
        _, dataset_id, generator_id = await _generator(consumer)
        path = f"/api/v1/jobs/{generator_id}/events"
        stream = asyncio.create_task(streamer.call("GET", path))
        bus = notifier_of(streamer.service).bus

        async def listening() -> bool:
            return bus.listeners(generator_id) > 0

        await streamer.until(listening)
        await asyncio.sleep(0.2)  # past the replay: what follows can only arrive live
        for epoch in (1, 2, 3):
            await consumer.publish(_progress(generator_id, epoch))
        await consumer.publish(_trained(generator_id, dataset_id))
        response = await asyncio.wait_for(stream, timeout=15)
        events = _sse(response.text)
        assert [e["event"] for e in events] == ["queued"] + ["TrainingProgress"] * 3 + [
            "ModelTrained"
        ]
        ids = [int(e["id"]) for e in events]
        assert ids == sorted(set(ids))
        training = streamer.settings.topic("training")
        assert streamer.emitted(training, "TrainingProgress") == []  # never on its bus
        assert streamer.emitted(training, "ModelTrained") == []

        resumed = await streamer.call("GET", path, headers={"Last-Event-ID": str(ids[1])})
        assert [int(e["id"]) for e in _sse(resumed.text)] == ids[2:]


async def test_redis_job_events_fan_out_and_resync_after_a_lost_publish(
    redis_url: str, unique_name: str
) -> None:
    channel = f"{unique_name}.job-events"
    publisher = RedisJobEvents(url=redis_url, channel=channel)
    subscriber = RedisJobEvents(url=redis_url, channel=channel)
    await publisher.start()
    await subscriber.start()
    try:
        async with subscriber.listen("job-1") as one, subscriber.listen("job-2") as two:
            # The first listener began before the subscription was live: it may have missed
            # events. The second began once it was.
            assert one.take_lagged()
            assert not two.take_lagged()
            event = JobEvent(job_id="job-1", seq=7, type="TrainingProgress", data={"epoch": 1})
            await publisher.publish([event])
            assert await one.next(timeout_s=5) == event
            assert await two.next(timeout_s=0.2) is None
            assert not one.take_lagged()

            # A publish that never reached Redis: the next publication tells listeners of that
            # job to read the table (they would otherwise skip what was lost).
            working = publisher._client
            publisher._client = Redis.from_url("redis://127.0.0.1:1/0")  # nothing listens there
            await publisher.publish([JobEvent(job_id="job-2", seq=8, type="x", data={})])
            await publisher._client.aclose()
            publisher._client = working
            later = JobEvent(job_id="job-1", seq=9, type="TrainingProgress", data={"epoch": 2})
            await publisher.publish([later])
            assert await one.next(timeout_s=5) == later
            assert await two.next(timeout_s=5) is None
            assert two.take_lagged()
            assert not one.take_lagged()
    finally:
        await publisher.stop()
        await subscriber.stop()
