"""The event consumer: decode, deduplicate, handle in a transaction, retry, dead-letter, commit.

The messages of one fetch (one or several partitions, each in offset order) are applied in ONE
database transaction on the fast path: the inbox rows of the whole batch are inserted with
``ON CONFLICT DO NOTHING``, so only the (handler, event) pairs not seen before run (once, even if
a redelivery put an event twice in the batch), and the handlers' writes and outgoing events
commit with them. The broker offsets are committed only after that, in one request. While one
fetch is applied, the next is fetched and decoded (no more: it is applied only once the previous
fetch's offsets are committed), so decoding overlaps the waits for the database. Fewer,
larger transactions and commits are what let the bus keep up (``benchmarks/bus.py``). If any
handler raises, the transaction is rolled back and
the batch is replayed one (message, handler) pair at a time, each in its own transaction with
bounded retries; a pair that keeps failing is dead-lettered (through the outbox, in the same
transaction that records it in the inbox) and the others go on. Messages that can never succeed
(unparseable, unsupported version, invalid payload) are dead-lettered at once. Dead-lettering
an event also runs its subscriptions' ``on_dead_letter`` hooks in the same transaction (see
``sds_common.bus.subscription``), so the work the event asked for is announced as failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

from sds_common.bus.dead_letters import DeadLetters
from sds_common.bus.decoding import Decoder, Item, short_error
from sds_common.bus.inbox import Inbox, take
from sds_common.bus.ports import Broker, BrokerConsumer, ReceivedMessage
from sds_common.bus.subscription import (
    BatchHandler,
    DeadLetterReason,
    FaultHook,
    RetryPolicy,
    Subscription,
    Unrecognised,
)
from sds_common.db.uow import Database, UnitOfWork
from sds_common.events.base import Envelope, Event
from sds_common.telemetry.metrics import Metrics
from sds_common.telemetry.tracing import consumer_span

log = logging.getLogger(__name__)

#: Backoff of a member that cannot (re)join its group: first delay and cap, in seconds.
REJOIN_FIRST_S, REJOIN_MAX_S = 0.5, 10.0


class HandlerFailedError(Exception):
    """Raised inside the fast path to fall back to one-by-one processing."""


class EventConsumer:
    """Runs a service's subscriptions as one consumer group.

    Args:
        group_id: the consumer group (and inbox namespace), e.g. ``"datasets"``.
        broker: where messages come from.
        database: the service's database (inbox, outbox, handlers' tables).
        subscriptions: handlers by event model.
        actor: the ``actor`` of events the handlers emit.
        retry: how often a failing handler is retried before dead-lettering.
        max_batch: records fetched per poll.
        fault_hook: test-only callback invoked at named points (``"after_db_commit"``) so a test
            can kill the process between the database commit and the offset commit.
        metrics: where dead letters and unknown event types are counted.
    """

    def __init__(
        self,
        *,
        group_id: str,
        broker: Broker,
        database: Database,
        subscriptions: Sequence[Subscription],
        actor: str,
        retry: RetryPolicy | None = None,
        max_batch: int = 500,
        fault_hook: FaultHook | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.group_id = group_id
        self._broker = broker
        self._database = database
        self._inbox = Inbox(database)
        self._actor = actor
        self._retry = retry or RetryPolicy()
        self._max_batch = max_batch
        self._fault_hook = fault_hook
        self._decoder = Decoder(group_id=group_id, subscriptions=subscriptions, metrics=metrics)
        self._dead_letters = DeadLetters(group_id=group_id, decoder=self._decoder, metrics=metrics)
        # An ``unrecognised`` subscription reads no topic of its own: it takes what the typed
        # subscriptions' topics carry and they cannot handle.
        self.topics = sorted(
            {
                database.topic_name(sub.event.topic)
                for sub in subscriptions
                if sub.event is not Unrecognised
            }
        )
        self._consumer: BrokerConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.ready = asyncio.Event()

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> None:
        """Join the group and consume in a background task."""
        self._stopping = False
        self._task = asyncio.create_task(self.run(), name=f"consumer-{self.group_id}")

    async def stop(self) -> None:
        """Finish the batch in flight (commit it), then leave the group."""
        self._stopping = True
        if self._task is not None:
            await self._task
            self._task = None

    async def check(self) -> None:
        """Readiness: the consuming task runs, is in its group, and the broker answers now.

        Raises:
            RuntimeError: the task ended, or it is (re)joining the group after a failure.
            Exception: whatever the broker's own check raises.
        """
        if self._task is None or self._task.done():
            raise RuntimeError(f"consumer {self.group_id} is not running")
        if not self.ready.is_set():
            raise RuntimeError(f"consumer {self.group_id} has not joined its group")
        await self._broker.check()

    async def _join(self) -> BrokerConsumer | None:
        """Join the group, retrying with backoff while the broker cannot be reached.

        Returns:
            The joined member, or None when ``stop`` was called meanwhile.
        """
        failures = 0
        while not self._stopping:
            consumer = self._broker.consumer(topics=self.topics, group_id=self.group_id)
            try:
                await consumer.start()
            except Exception:
                failures += 1
                delay = min(REJOIN_FIRST_S * 2 ** (failures - 1), REJOIN_MAX_S)
                log.warning(
                    "consumer %s could not join its group (%d in a row); retrying in %.1fs",
                    self.group_id,
                    failures,
                    delay,
                    exc_info=failures == 1,
                )
                with contextlib.suppress(Exception):
                    await consumer.stop()
                await asyncio.sleep(delay)
                continue
            self.ready.set()
            return consumer
        return None

    async def run(self) -> None:
        """Consume until ``stop`` is called."""
        joined = await self._join()
        if joined is None:
            return
        consumer = self._consumer = joined
        # The fetch being applied (its transaction, then its offsets) while the next one is
        # fetched and decoded: decoding is CPU work, applying mostly waits for the database, so
        # the two overlap. Fetches are still applied one after the other, in order.
        applying: asyncio.Task[None] | None = None
        try:
            while not self._stopping:
                try:
                    batches = await consumer.fetch(timeout_ms=200, max_records=self._max_batch)
                    items = self._decode_all(batches)
                    if applying is not None:
                        task, applying = applying, None
                        await task
                    if batches:
                        applying = asyncio.create_task(self._apply(consumer, batches, items))
                except asyncio.CancelledError:
                    raise
                except Exception:
                    # Nothing was committed for the failing batch: it is fetched again after
                    # the group resumes from its committed offsets (and so is the batch fetched
                    # after it, which was only decoded).
                    log.exception("consumer %s: batch failed, rejoining", self.group_id)
                    self.ready.clear()
                    if applying is not None:  # the fetch failed: let the batch in flight end
                        await self._settle(applying)
                        applying = None
                    with contextlib.suppress(Exception):
                        await consumer.stop()
                    await asyncio.sleep(self._retry.first_backoff_s)
                    joined = await self._join()
                    if joined is None:
                        return  # stopped meanwhile
                    consumer = self._consumer = joined
            if applying is not None:
                await self._settle(applying)
                applying = None
        finally:
            if applying is not None:  # cancelled: the transaction rolls back, nothing committed
                applying.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await applying
            with contextlib.suppress(Exception):  # leaving a group the broker lost is moot
                await consumer.stop()
            self._consumer = None
            self.ready.clear()

    async def _settle(self, applying: asyncio.Task[None]) -> None:
        """Wait for the batch in flight; a failure is logged (its offsets stay uncommitted)."""
        try:
            await applying
        except Exception:
            log.exception("consumer %s: batch failed; it is redelivered", self.group_id)

    async def _apply(
        self,
        consumer: BrokerConsumer,
        batches: Sequence[Sequence[ReceivedMessage]],
        items: Sequence[Item],
    ) -> None:
        await self._process_items(items)
        await consumer.commit({(b[-1].topic, b[-1].partition): b[-1].offset + 1 for b in batches})

    # ---------------------------------------------------------------- processing

    async def process_batch(self, batch: Sequence[ReceivedMessage]) -> None:
        """Apply one partition's messages; returns once their effects are committed."""
        await self.process_batches([batch])

    async def process_batches(self, batches: Sequence[Sequence[ReceivedMessage]]) -> None:
        """Apply one fetch (messages of several partitions) in one transaction when possible.

        Each partition's messages are applied in offset order; returns once their effects are
        committed, after which the caller commits every partition's offset in one request.
        """
        await self._process_items(self._decode_all(batches))

    def _decode_all(self, batches: Sequence[Sequence[ReceivedMessage]]) -> list[Item]:
        return [self._decoder.decode(message) for batch in batches for message in batch]

    async def _process_items(self, items: Sequence[Item]) -> None:
        work = [item for item in items if item.targets or item.poison]
        if work:
            try:
                await self._fast_path(work)
            except HandlerFailedError:
                for item in work:
                    await self._slow_path(item)
        self._fault("after_db_commit")

    async def _fast_path(self, work: Sequence[Item]) -> None:
        async with self._database.unit_of_work(actor=self._actor) as uow:
            pairs = [(self._inbox_name(s), item.dedup_id) for item in work for s in item.targets]
            pairs += [(self._inbox_name(None), item.dedup_id) for item in work if item.poison]
            fresh = await self._inbox.claim(uow.session, pairs)
            batched: dict[str, tuple[BatchHandler, list[Item]]] = {}
            for item in work:
                if item.poison:
                    if take(fresh, (self._inbox_name(None), item.dedup_id)):
                        await self._dead_letter(uow, item, reason=item.poison, error=item.error)
                    continue
                uow.caused_by = item.envelope
                for sub in item.targets:
                    if not take(fresh, (self._inbox_name(sub), item.dedup_id)):
                        continue
                    if sub.batch_handler is not None:
                        batched.setdefault(sub.name, (sub.batch_handler, []))[1].append(item)
                        continue
                    try:
                        await self._call(sub, item, uow)
                    except Exception as exc:
                        raise HandlerFailedError(sub.name) from exc
            uow.caused_by = None
            for name, (handler, items) in batched.items():
                try:
                    await self._call_batch(name, handler, items, uow)
                except Exception as exc:
                    raise HandlerFailedError(name) from exc
            self._fault("before_db_commit")

    async def _slow_path(self, item: Item) -> None:
        if item.poison:
            async with self._database.unit_of_work(actor=self._actor) as uow:
                if await self._inbox.claim(uow.session, [(self._inbox_name(None), item.dedup_id)]):
                    await self._dead_letter(uow, item, reason=item.poison, error=item.error)
            return
        for sub in item.targets:
            await self._apply_with_retries(sub, item)

    async def _apply_with_retries(self, sub: Subscription, item: Item) -> None:
        key = (self._inbox_name(sub), item.dedup_id)
        last_error = ""
        for attempt in range(self._retry.max_retries + 1):
            if attempt:
                await asyncio.sleep(self._retry.delay(attempt))
            try:
                async with self._database.unit_of_work(
                    actor=self._actor, caused_by=item.envelope
                ) as uow:
                    if not await self._inbox.claim(uow.session, [key]):
                        return
                    await self._call(sub, item, uow)
            except Exception as exc:
                last_error = short_error(exc)
                log.warning(
                    "handler %s failed on %s (attempt %d): %s",
                    sub.name,
                    item.dedup_id,
                    attempt + 1,
                    last_error,
                )
            else:
                return
        async with self._database.unit_of_work(actor=self._actor) as uow:
            if await self._inbox.claim(uow.session, [key], outcome="dead_lettered"):
                await self._dead_letter(
                    uow, item, reason="handler_failed", error=last_error, handler=sub
                )

    async def _call(self, sub: Subscription, item: Item, uow: UnitOfWork) -> None:
        assert item.envelope is not None
        assert item.event is not None
        attributes: dict[str, str | int] = {
            "messaging.destination.name": item.message.topic,
            "messaging.kafka.partition": item.message.partition,
            "messaging.kafka.offset": item.message.offset,
            "event.type": item.envelope.type,
            "event.id": str(item.envelope.event_id),
            "handler": sub.name,
        }
        with consumer_span(
            f"{item.envelope.type} process", item.message.headers, attributes=attributes
        ):
            await sub.handler(item.envelope, item.event, uow)

    async def _call_batch(
        self, name: str, handler: BatchHandler, items: Sequence[Item], uow: UnitOfWork
    ) -> None:
        pairs: list[tuple[Envelope, Event]] = []
        for item in items:
            assert item.envelope is not None
            assert item.event is not None
            pairs.append((item.envelope, item.event))
        attributes: dict[str, str | int] = {
            "messaging.batch.message_count": len(pairs),
            "handler": name,
        }
        # One span for the call; the first message's trace context is its parent (a batch has
        # many parents, and per-message spans would cost what batching saves).
        with consumer_span(
            f"{name} batch process", items[0].message.headers, attributes=attributes
        ):
            await handler(pairs, uow)

    async def _dead_letter(
        self,
        uow: UnitOfWork,
        item: Item,
        *,
        reason: DeadLetterReason,
        error: str | None,
        handler: Subscription | None = None,
    ) -> None:
        await self._dead_letters.write(uow, item, reason=reason, error=error, handler=handler)

    def _inbox_name(self, sub: Subscription | None) -> str:
        return f"{self.group_id}:{sub.name if sub else '__dead_letter__'}"

    def _fault(self, point: str) -> None:
        if self._fault_hook is not None:
            self._fault_hook(point)


async def wait_until(
    predicate: Callable[[], Awaitable[bool]], *, timeout_s: float = 10.0, interval_s: float = 0.02
) -> None:
    """Poll ``predicate`` until it is true (tests and start-up checks).

    Raises:
        TimeoutError: it stayed false for ``timeout_s``.
    """
    async with asyncio.timeout(timeout_s):
        while not await predicate():
            await asyncio.sleep(interval_s)


__all__ = [
    "EventConsumer",
    "HandlerFailedError",
    "wait_until",
]
