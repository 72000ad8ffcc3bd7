"""A consumer process SIGKILLed between its database commit and its offset commit.

Real Kafka, real PostgreSQL, a real process kill: after a restart every event is applied
exactly once in effect (the inbox absorbs the redelivery) and none is lost.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sds_common.bus import KafkaBroker
from tests.support.bus import BusHarness, deleted, harness

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


@pytest.fixture
async def bus(
    kafka_bootstrap: str, postgres_dsn: str, unique_name: str
) -> AsyncIterator[BusHarness]:
    dsn = postgres_dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    broker = KafkaBroker(bootstrap_servers=kafka_bootstrap)
    async with harness(broker=broker, database_url=dsn, schema=unique_name, name=unique_name) as h:
        h.kafka = kafka_bootstrap  # type: ignore[attr-defined]
        h.dsn = dsn  # type: ignore[attr-defined]
        yield h


async def _run_consumer(bus: BusHarness, *, kill_at: str, expect: int) -> int:
    env = {
        **os.environ,
        "TOPIC_PREFIX": bus.settings.topic_prefix,
        "DATABASE_URL": bus.dsn,  # type: ignore[attr-defined]
        "SCHEMA": bus.group.removesuffix("-g"),
        "KAFKA": bus.kafka,  # type: ignore[attr-defined]
        "GROUP": bus.group,
        "EXPECT": str(expect),
        "KILL_AT": kill_at,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.support.consumer_proc", cwd=ROOT, env=env
    )
    return await asyncio.wait_for(process.wait(), timeout=120)


@pytest.mark.parametrize("kill_at", ["after_db_commit", "before_db_commit"])
async def test_killed_consumer_applies_each_event_exactly_once(
    bus: BusHarness, kill_at: str
) -> None:
    envelopes = await bus.publish(*[deleted(reason=f"r{i}") for i in range(20)])

    code = await _run_consumer(bus, kill_at=kill_at, expect=10**9)
    assert code == -signal.SIGKILL
    applied_before_restart = await bus.count()
    if kill_at == "after_db_commit":
        assert applied_before_restart >= 1  # the killed batch had committed its effects
    else:
        assert applied_before_restart == 0  # the killed batch's transaction never committed

    code = await _run_consumer(bus, kill_at="", expect=20)
    assert code == 0
    rows = await bus.rows()
    applied_ids = sorted(r[0] for r in rows)
    assert applied_ids == sorted(str(e.event_id) for e in envelopes)  # none lost, none twice
