"""The outbox relay: publishes committed outbox rows in order, then deletes them.

Each pass deletes the oldest rows with ``DELETE .. RETURNING`` (their ids picked ``FOR UPDATE`` on
PostgreSQL; SQLite's write lock serves the same purpose), sends them, then commits: one statement
per batch, and several relays of one service never interleave, so per-key order survives. A crash
after the send and before the commit re-sends those rows: at-least-once, made harmless by the
inbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy import delete, select

from sds_common.bus.ports import Broker, OutgoingMessage
from sds_common.db.uow import Database, decode_headers

log = logging.getLogger(__name__)


class OutboxRelay:
    """Moves messages from a service's outbox table to the broker.

    Args:
        database: the service's database (its outbox table).
        broker: where messages go.
        batch_size: rows per transaction.
        poll_interval_s: fallback poll period; commits wake the relay at once.
    """

    def __init__(
        self,
        *,
        database: Database,
        broker: Broker,
        batch_size: int = 500,
        poll_interval_s: float = 0.2,
    ) -> None:
        self._database = database
        self._broker = broker
        self._batch_size = batch_size
        self._poll_interval_s = poll_interval_s
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        outbox = database.tables.outbox
        oldest = (
            select(outbox.c.id).order_by(outbox.c.id).limit(batch_size).with_for_update()
        ).scalar_subquery()
        self._take = (
            delete(outbox)
            .where(outbox.c.id.in_(oldest))
            .returning(outbox.c.id, outbox.c.topic, outbox.c.key, outbox.c.headers, outbox.c.body)
        )
        # An idle relay looks for work several times a second in every service; this read
        # answers "nothing" without a transaction or the write lock (inline on SQLite).
        self._any_pending = select(outbox.c.id).limit(1)
        database.on_outbox_write(self.wake)

    def wake(self) -> None:
        """Ask the relay to look at the outbox now."""
        if self._wakeup is not None:
            self._wakeup.set()

    async def drain_once(self) -> int:
        """Publish up to one batch of pending rows. Returns how many were published."""
        # A Core connection, not an ORM session: the relay maps no objects, and a pass runs for
        # nearly every commit at low rates, where the session's bookkeeping was most of its CPU.
        async with self._database.engine.begin() as conn:
            # Claim and delete the oldest rows in one statement; the delete only becomes final
            # when the transaction commits, after the broker accepted them (a failed send rolls
            # it back and the rows stay for the next pass).
            rows = sorted((await conn.execute(self._take)).all(), key=lambda row: row.id)
            if not rows:
                return 0
            await self._broker.send_batch(
                [
                    OutgoingMessage(
                        topic=row.topic,
                        key=row.key.encode() if row.key is not None else None,
                        value=bytes(row.body),
                        headers=tuple(decode_headers(row.headers)),
                    )
                    for row in rows
                ]
            )
        return len(rows)

    async def drain(self) -> int:
        """Publish everything committed before the call."""
        total = 0
        while True:
            published = await self.drain_once()
            total += published
            # A short batch saw every row committed before its SELECT, so another pass would
            # only cost a transaction to find nothing; rows committed since then woke us again.
            if published < self._batch_size:
                return total

    async def run(self) -> None:
        """Publish until stopped; failures are logged and retried with backoff."""
        self._wakeup = asyncio.Event()
        backoff = self._poll_interval_s
        polled = True  # no commit woke us: look before opening a write transaction
        while not self._stopping:
            # Cleared BEFORE the drain: a commit that lands after this line sets it again, so
            # the wait below returns at once, and a commit before it is seen by the drain. No
            # pass is spent only to confirm that the outbox is empty.
            self._wakeup.clear()
            try:
                # A wake-up means a commit queued rows; a poll (every ``poll_interval_s`` in
                # every idle service) first asks cheaply whether there is anything at all.
                if not polled or await self._database.fetch_one(self._any_pending) is not None:
                    await self.drain()
                backoff = self._poll_interval_s
            except Exception:
                log.exception("outbox relay failed; retrying in %.1fs", backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
                polled = False
                continue
            polled = False
            if not self._stopping:
                try:
                    await asyncio.wait_for(self._wakeup.wait(), self._poll_interval_s)
                except TimeoutError:
                    polled = True

    def start(self) -> None:
        """Run in a background task."""
        self._stopping = False
        self._task = asyncio.create_task(self.run(), name="outbox-relay")

    async def stop(self) -> None:
        """Publish what is pending, then stop."""
        self._stopping = True
        self.wake()
        if self._task is not None:
            await self._task
            self._task = None
        with contextlib.suppress(Exception):
            await self.drain()
