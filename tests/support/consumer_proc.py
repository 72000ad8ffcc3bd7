"""A consumer process for the kill test: ``python -m tests.support.consumer_proc``.

Reads its configuration from the environment; with ``KILL_AT=after_db_commit`` it SIGKILLs itself
right after the first batch's transaction commits and before the broker offset is committed.
"""

from __future__ import annotations

import asyncio
import os
import signal

from sqlalchemy import MetaData

from sds_common.bus import EventConsumer, KafkaBroker, MemoryBroker
from sds_common.db import Database, create_engine
from sds_common.settings import Settings
from tests.support.bus import BusHarness, applied_table


def _kill(point: str) -> None:
    if point == os.environ.get("KILL_AT"):
        os.kill(os.getpid(), signal.SIGKILL)


async def main() -> None:
    settings = Settings(topic_prefix=os.environ["TOPIC_PREFIX"], service_name="victim")
    engine = create_engine(os.environ["DATABASE_URL"], schema=os.environ.get("SCHEMA") or None)
    metadata = MetaData()
    applied = applied_table(metadata)
    database = Database(engine=engine, metadata=metadata, topic_name=settings.topic)
    broker = (
        KafkaBroker(bootstrap_servers=os.environ["KAFKA"])
        if os.environ.get("KAFKA")
        else MemoryBroker()
    )
    await broker.start()
    harness = BusHarness(
        broker=broker,
        database=database,
        settings=settings,
        applied=applied,
        group=os.environ["GROUP"],
    )
    consumer = EventConsumer(
        group_id=os.environ["GROUP"],
        broker=broker,
        database=database,
        subscriptions=[harness.recording_handler()],
        actor="victim",
        fault_hook=_kill,
    )
    consumer.start()
    expected = int(os.environ["EXPECT"])
    while await harness.count() < expected:
        await asyncio.sleep(0.05)
    await consumer.stop()
    await broker.stop()
    await database.dispose()


if __name__ == "__main__":
    asyncio.run(main())
