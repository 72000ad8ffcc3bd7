"""Live job events for progress streams: in-process (embedded) or Redis pub/sub (distributed).

The ``job_events`` table stays the source of truth; these adapters carry each committed event to
the streams following its job, in this process or, through Redis, in any gateway replica, so a
replica serves a stream whatever replica consumed the event. A stream listens BEFORE it replays
the table and drops live events it already replayed (``entrypoints.sse``), so nothing falls in
between. When live events may have been lost (a listener fell behind, the Redis connection
dropped, a publish failed), the affected listeners are marked ``lagged`` and their streams read
the table again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

LISTENER_BUFFER = 1000


@dataclass(frozen=True, slots=True)
class JobEvent:
    """One committed row of ``job_events``: ``seq`` is its SSE id."""

    job_id: str
    seq: int
    type: str
    data: Mapping[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (the wire form of the Redis adapter)."""
        return {"job_id": self.job_id, "seq": self.seq, "type": self.type, "data": self.data}

    @classmethod
    def from_dict(cls, value: Mapping[str, Any]) -> JobEvent:
        """Inverse of ``as_dict``."""
        return cls(
            job_id=str(value["job_id"]),
            seq=int(value["seq"]),
            type=str(value["type"]),
            data=dict(value["data"]),
        )


class Listener:
    """One stream's live view of one job; ``lagged`` says live events may have been missed."""

    def __init__(self, job_id: str, *, buffer: int = LISTENER_BUFFER) -> None:
        self.job_id = job_id
        self._queue: asyncio.Queue[JobEvent] = asyncio.Queue(maxsize=buffer)
        self._signal = asyncio.Event()
        self._lagged = False

    def deliver(self, event: JobEvent) -> None:
        """Hand over a live event (a full buffer marks the listener lagged instead)."""
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self._lagged = True
        self._signal.set()

    def lag(self) -> None:
        """Record that live events may have been missed."""
        self._lagged = True
        self._signal.set()

    def take_lagged(self) -> bool:
        """Whether events may have been missed since the last call (and forget it)."""
        lagged, self._lagged = self._lagged, False
        return lagged

    async def next(self, *, timeout_s: float) -> JobEvent | None:
        """The next live event, or None after ``timeout_s`` or as soon as the listener lags."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(timeout_s, 0.0)):
                while self._queue.empty() and not self._lagged:
                    self._signal.clear()
                    await self._signal.wait()
        if self._lagged or self._queue.empty():
            return None
        return self._queue.get_nowait()


class FanOut:
    """This process's listeners by job id."""

    def __init__(self) -> None:
        self._listeners: dict[str, set[Listener]] = {}

    def add(self, job_id: str) -> Listener:
        """A new listener of ``job_id``."""
        listener = Listener(job_id)
        self._listeners.setdefault(job_id, set()).add(listener)
        return listener

    def remove(self, listener: Listener) -> None:
        """Stop feeding ``listener``."""
        listeners = self._listeners.get(listener.job_id)
        if listeners is not None:
            listeners.discard(listener)
            if not listeners:
                del self._listeners[listener.job_id]

    def deliver(self, event: JobEvent) -> None:
        """Hand ``event`` to the listeners of its job."""
        for listener in tuple(self._listeners.get(event.job_id, ())):
            listener.deliver(event)

    def lag(self, job_ids: Sequence[str] | None = None) -> None:
        """Mark the listeners of ``job_ids`` (all when None) as lagged."""
        ids = list(self._listeners) if job_ids is None else job_ids
        for job_id in ids:
            for listener in tuple(self._listeners.get(job_id, ())):
                listener.lag()

    def count(self, job_id: str) -> int:
        """How many streams follow ``job_id`` here."""
        return len(self._listeners.get(job_id, ()))


class JobEventBus(Protocol):
    """Carries committed job events to the streams that follow the jobs."""

    async def start(self) -> None:
        """Connect (never fails for an unreachable server: streams fall back to the table)."""
        ...

    async def stop(self) -> None:
        """Disconnect."""
        ...

    async def publish(self, events: Sequence[JobEvent]) -> None:
        """Send committed events to every listener of their jobs (never raises)."""
        ...

    def listen(self, job_id: str) -> AbstractAsyncContextManager[Listener]:
        """Listen to ``job_id`` from now on, until the block exits."""
        ...

    def listeners(self, job_id: str) -> int:
        """How many streams in this process follow ``job_id``."""
        ...


class InProcessJobEvents:
    """The embedded runtime's bus: one process, so a fan-out is all it takes."""

    def __init__(self) -> None:
        self._fan_out = FanOut()

    async def start(self) -> None:
        """Nothing to connect."""

    async def stop(self) -> None:
        """Nothing to disconnect."""

    async def publish(self, events: Sequence[JobEvent]) -> None:
        """Deliver to this process's listeners."""
        for event in events:
            self._fan_out.deliver(event)

    @asynccontextmanager
    async def listen(self, job_id: str) -> AsyncIterator[Listener]:
        """See ``JobEventBus.listen``."""
        listener = self._fan_out.add(job_id)
        try:
            yield listener
        finally:
            self._fan_out.remove(listener)

    def listeners(self, job_id: str) -> int:
        """See ``JobEventBus.listeners``."""
        return self._fan_out.count(job_id)


class RedisJobEvents:
    """Job events over one Redis pub/sub channel shared by every gateway replica.

    Each replica keeps ONE subscription (not one per stream) and fans messages out to its own
    listeners. A publish carries all the events one transaction committed. A publish that fails
    is followed, once Redis answers again, by a ``resync`` of the jobs concerned, sent before
    their next events, so their streams read the table instead of skipping what was lost.

    Args:
        url: ``redis://`` URL (``SDS_REDIS_URL``).
        channel: the channel name (carries the topic prefix, so namespaces stay apart).
        ready_timeout_s: how long a new listener waits for the subscription to be live.
        reconnect_s: pause before reconnecting after a lost connection.
    """

    def __init__(
        self,
        *,
        url: str,
        channel: str,
        ready_timeout_s: float = 2.0,
        reconnect_s: float = 1.0,
    ) -> None:
        self._url = url
        self._channel = channel
        self._ready_timeout_s = ready_timeout_s
        self._reconnect_s = reconnect_s
        self._fan_out = FanOut()
        self._client: Redis | None = None
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._unsent: set[str] = set()

    async def start(self) -> None:
        """Open the client and start the subscription loop (it retries on its own)."""
        self._client = Redis.from_url(self._url)
        self._task = asyncio.create_task(self._subscribe_forever(), name="job-events-redis")

    async def stop(self) -> None:
        """Stop the subscription loop and close the client."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        self._ready.clear()

    async def _subscribe_forever(self) -> None:
        assert self._client is not None
        while True:
            pubsub = self._client.pubsub()
            try:
                await pubsub.subscribe(self._channel)
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is None:
                        continue
                    if message["type"] == "subscribe":
                        # Anything published while we were not subscribed is lost to us.
                        self._fan_out.lag()
                        self._ready.set()
                    elif message["type"] == "message":
                        self._receive(message["data"])
            except (RedisError, OSError) as exc:
                self._ready.clear()
                self._fan_out.lag()
                log.warning("job events: Redis subscription lost (%s); retrying", exc)
                await asyncio.sleep(self._reconnect_s)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    def _receive(self, raw: bytes | str) -> None:
        try:
            message = json.loads(raw)
            resync = [str(job_id) for job_id in message.get("resync", ())]
            events = [JobEvent.from_dict(item) for item in message.get("events", ())]
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("job events: unreadable message on %s ignored", self._channel)
            return
        if resync:
            self._fan_out.lag(resync)
        for event in events:
            self._fan_out.deliver(event)

    async def publish(self, events: Sequence[JobEvent]) -> None:
        """See ``JobEventBus.publish``; a failure is logged and resynchronised later."""
        if not events:
            return
        if self._client is None:  # not started, or stopped: lost to the listeners
            self._unsent.update(event.job_id for event in events)
            return
        resync = sorted(self._unsent)
        message: dict[str, Any] = {"events": [event.as_dict() for event in events]}
        if resync:
            message["resync"] = resync
        try:
            await self._client.publish(
                self._channel, json.dumps(message, separators=(",", ":"), default=str)
            )
        except (RedisError, OSError) as exc:
            self._unsent.update(event.job_id for event in events)
            log.warning("job events: publish to Redis failed (%s); streams will resync", exc)
        else:
            self._unsent.difference_update(resync)

    @asynccontextmanager
    async def listen(self, job_id: str) -> AsyncIterator[Listener]:
        """See ``JobEventBus.listen``; waits briefly for the subscription to be live."""
        listener = self._fan_out.add(job_id)
        try:
            if not self._ready.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._ready.wait(), self._ready_timeout_s)
            yield listener
        finally:
            self._fan_out.remove(listener)

    def listeners(self, job_id: str) -> int:
        """See ``JobEventBus.listeners``."""
        return self._fan_out.count(job_id)
