"""What a consumer runs: subscriptions (one handler of one event model) and the retry policy."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from sds_common.db.uow import UnitOfWork
from sds_common.events.base import Envelope, Event

Handler = Callable[[Envelope, Event, UnitOfWork], Awaitable[None]]
BatchItems = Sequence[tuple[Envelope, Event]]
BatchHandler = Callable[[BatchItems, UnitOfWork], Awaitable[None]]
FaultHook = Callable[[str], None]


@dataclass(frozen=True)
class Subscription:
    """One handler of one event model (type and version).

    A batch subscription (:meth:`batch`) has a ``batch_handler`` instead: every batch
    subscription of a consumer with the same ``name`` is called ONCE per fetch, with all the
    fetch's fresh events of its types in fetch order, so a handler can write them with one
    statement. ``handler`` then calls it with a one-event list, which is what the one-by-one
    replay after a failure uses.
    """

    event: type[Event]
    handler: Handler
    name: str
    batch_handler: BatchHandler | None = None

    @classmethod
    def of(cls, event: type[Event], handler: Handler, *, name: str | None = None) -> Subscription:
        """Subscribe ``handler`` to ``event``; the name defaults to the handler's qualname."""
        return cls(event=event, handler=handler, name=name or handler.__qualname__)

    @classmethod
    def batch(
        cls, event: type[Event], handler: BatchHandler, *, name: str | None = None
    ) -> Subscription:
        """Subscribe ``handler`` to ``event`` in batch form.

        Args:
            event: the event model (type and version).
            handler: called as ``handler(items, uow)`` with ``(envelope, event)`` pairs, inside
                the fetch's transaction; ``uow.caused_by`` is not set (many causes).
            name: groups batch subscriptions into one call per fetch (and names their inbox
                rows); defaults to the handler's qualname.
        """

        async def one(envelope: Envelope, item: Event, uow: UnitOfWork) -> None:
            await handler([(envelope, item)], uow)

        label: str = name or str(getattr(handler, "__qualname__", type(handler).__name__))
        return cls(event=event, handler=one, name=label, batch_handler=handler)


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries with exponential backoff before a message is dead-lettered."""

    max_retries: int = 3
    first_backoff_s: float = 0.05
    max_backoff_s: float = 2.0

    def delay(self, attempt: int) -> float:
        """Delay before retry number ``attempt`` (1-based)."""
        return float(min(self.first_backoff_s * 2 ** (attempt - 1), self.max_backoff_s))


__all__ = ["BatchHandler", "BatchItems", "FaultHook", "Handler", "RetryPolicy", "Subscription"]
