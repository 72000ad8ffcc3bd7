"""What a consumer runs: subscriptions (one handler of one event model) and the retry policy.

A subscription may also say what it means when the consumer gives up on one of its events
(``on_dead_letter``): the service whose work an event starts turns it into that work's failure
(a ``TrainingFailed``, a ``DatasetRejected``...), so a dead-lettered request never leaves its
resource waiting. And one subscription per consumer may take every envelope that no typed
handler can (``Subscription.unrecognised``): the audit records them instead of losing them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal
from uuid import UUID

from sds_common.db.uow import UnitOfWork
from sds_common.events.base import Envelope, Event, Unrecognised, UnrecognisedReason

Handler = Callable[[Envelope, Event, UnitOfWork], Awaitable[None]]
BatchItems = Sequence[tuple[Envelope, Event]]
BatchHandler = Callable[[BatchItems, UnitOfWork], Awaitable[None]]
FaultHook = Callable[[str], None]
DeadLetterReason = Literal["malformed", "unsupported_version", "invalid_payload", "handler_failed"]

#: The failure code a dead-lettered request announces, by reason.
_CODES: dict[str, str] = {
    "unsupported_version": "unsupported_request",
    "invalid_payload": "invalid_request",
    "handler_failed": "processing_failed",
    "malformed": "invalid_request",
}
#: What each reason means, in words a user may read (no exception, no internals).
_PUBLIC_REASONS: dict[str, str] = {
    "unsupported_version": "is in a version that service does not support",
    "invalid_payload": "does not match its published schema",
    "handler_failed": "kept failing there and was set aside",
    "malformed": "could not be read",
}


@dataclass(frozen=True)
class DeadLetter:
    """An event a consumer gave up on, as an ``on_dead_letter`` hook sees it.

    Attributes:
        envelope: the envelope (its ``payload`` may be what failed to validate).
        event: the payload model, or None when the payload did not validate.
        reason: why it was dead-lettered.
        consumer: the consumer group that gave up on it (the service's name).
        handler: the subscription that kept failing (``handler_failed`` only).
    """

    envelope: Envelope
    event: Event | None
    reason: DeadLetterReason
    consumer: str
    handler: str | None = None

    @property
    def code(self) -> str:
        """The failure code to announce (``processing_failed``, ``invalid_request`` ...)."""
        return _CODES[self.reason]

    def uuid(self, name: str) -> UUID | None:
        """The UUID field ``name`` of the event; None when it is missing or not a UUID.

        Read from the raw payload when the payload did not validate.
        """
        value = getattr(self.event, name, None) if self.event is not None else None
        if value is None:
            value = self.envelope.payload.get(name)
        if isinstance(value, UUID) or value is None:
            return value
        try:
            return UUID(str(value))
        except ValueError:
            return None

    def public_reason(self, what: str) -> str:
        """A sentence for users: ``what`` (e.g. "the training request") and why it stopped.

        The detail (exception, validation errors) goes to the dead-letter copy and the log.
        """
        return (
            f"{what} could not be processed by the {self.consumer} service: it "
            + (_PUBLIC_REASONS[self.reason])
        )


DeadLetterHook = Callable[[DeadLetter, UnitOfWork], Awaitable[None]]


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
    on_dead_letter: DeadLetterHook | None = None

    @classmethod
    def of(
        cls,
        event: type[Event],
        handler: Handler,
        *,
        name: str | None = None,
        on_dead_letter: DeadLetterHook | None = None,
    ) -> Subscription:
        """Subscribe ``handler`` to ``event``; the name defaults to the handler's qualname.

        Args:
            event: the event model (type and version).
            handler: called as ``handler(envelope, event, uow)`` in the consumer's transaction.
            name: names its inbox rows; defaults to the handler's qualname.
            on_dead_letter: called, in the transaction that dead-letters the event, when the
                consumer gives up on an event of this type (this handler kept failing, or the
                payload or version cannot be read). It announces what the failure means (the
                work the event asked for has failed). A hook that raises is logged and undone;
                the dead letter is written all the same.
        """
        return cls(
            event=event,
            handler=handler,
            name=name or handler.__qualname__,
            on_dead_letter=on_dead_letter,
        )

    @classmethod
    def unrecognised(cls, handler: BatchHandler, *, name: str) -> Subscription:
        """Take every envelope that no typed subscription of the consumer can handle.

        Unknown types, versions no subscription reads, payloads that do not validate: instead
        of being skipped (or dead-lettered), each comes to ``handler`` in batch form, paired
        with an :class:`Unrecognised` that says why. Malformed messages (no envelope) are still
        dead-lettered. One per consumer: the audit service records them.
        """
        return cls.batch(Unrecognised, handler, name=name)

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


__all__ = [
    "BatchHandler",
    "BatchItems",
    "DeadLetter",
    "DeadLetterHook",
    "DeadLetterReason",
    "FaultHook",
    "Handler",
    "RetryPolicy",
    "Subscription",
    "Unrecognised",
    "UnrecognisedReason",
]
