"""Dead letters: a copy of the message on ``<topic>.dlq`` with why, and what it means.

The copy keeps the message and adds ``dlq-*`` headers (reason, error, consumer, handler, original
position) for operators. The subscriptions' ``on_dead_letter`` hooks then run in the same
transaction, each in a savepoint: a hook announces the failure of the work the event asked for,
and a hook that fails is logged and undone without losing the dead letter.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sds_common.bus.decoding import Decoder, Item
from sds_common.bus.subscription import DeadLetter, DeadLetterHook, DeadLetterReason, Subscription
from sds_common.db.uow import UnitOfWork
from sds_common.events import topics as topic_names
from sds_common.telemetry.metrics import ConsumeOutcome, Metrics
from sds_common.telemetry.tracing import consumer_span

log = logging.getLogger(__name__)


class DeadLetters:
    """Writes one consumer group's dead letters."""

    def __init__(self, *, group_id: str, decoder: Decoder, metrics: Metrics | None) -> None:
        self.group_id = group_id
        self._decoder = decoder
        self._metrics = metrics

    async def write(
        self,
        uow: UnitOfWork,
        item: Item,
        *,
        reason: DeadLetterReason,
        error: str | None,
        handler: Subscription | None = None,
    ) -> None:
        """Copy the message to ``<topic>.dlq`` with why, then run the dead-letter hooks."""
        m = item.message
        log.error(
            "dead-lettering %s/%d/%d for %s: %s %s",
            m.topic,
            m.partition,
            m.offset,
            self.group_id,
            reason,
            error or "",
        )
        failed_at = datetime.now(UTC).isoformat()
        # Exactly ``events.headers.DEAD_LETTER_HEADERS`` (the AsyncAPI document's; a test checks).
        added = {
            "dlq-reason": reason,
            "dlq-error": (error or "")[:2000],
            "dlq-consumer": self.group_id,
            "dlq-handler": handler.name if handler else "",
            "dlq-original-topic": m.topic,
            "dlq-original-partition": str(m.partition),
            "dlq-original-offset": str(m.offset),
            "dlq-failed-at": failed_at,
        }
        headers = [*m.headers, *((name, value.encode()) for name, value in added.items())]
        await uow.add_raw(
            topic=topic_names.dlq(m.topic),
            key=m.key.decode(errors="replace") if m.key is not None else None,
            headers=headers,
            body=m.value,
        )
        if self._metrics is not None:
            self._metrics.events_consumed_total.labels(
                topic=m.topic,
                type=item.envelope.type if item.envelope else "(malformed)",
                outcome=ConsumeOutcome.DEAD_LETTERED.value,
            ).inc()
        await self._announce(uow, item, reason=reason, handler=handler)

    async def _announce(
        self,
        uow: UnitOfWork,
        item: Item,
        *,
        reason: DeadLetterReason,
        handler: Subscription | None,
    ) -> None:
        """Run the hooks that turn a dead-lettered event into the failure of its work."""
        envelope = item.envelope
        if envelope is None:
            return  # malformed: nothing says what it was about
        subs = [handler] if handler is not None else self._decoder.subscribers(envelope.type)
        hooks: list[DeadLetterHook] = []
        for sub in subs:
            if sub.on_dead_letter is not None and sub.on_dead_letter not in hooks:
                hooks.append(sub.on_dead_letter)
        if not hooks:
            return
        letter = DeadLetter(
            envelope=envelope,
            event=item.event,
            reason=reason,
            consumer=self.group_id,
            handler=handler.name if handler else None,
        )
        caused_by, uow.caused_by = uow.caused_by, envelope
        try:
            with consumer_span(f"{envelope.type} dead-letter", item.message.headers):
                for hook in hooks:
                    try:
                        async with uow.savepoint():
                            await hook(letter, uow)
                    except Exception:
                        log.exception(
                            "consumer %s: a dead-letter hook failed on %s; the dead letter stands",
                            self.group_id,
                            item.dedup_id,
                        )
        finally:
            uow.caused_by = caused_by
