"""How a consumer reads one message: envelope, payload model, and which handlers get it.

An envelope of a type this consumer handles is validated against the handlers' model (an older
version is upcast). One it cannot read becomes *poison* (dead-lettered at once) unless the
consumer has an ``unrecognised`` subscription, which takes it instead. A type other services
publish on a shared topic and this consumer does not handle is skipped: that is normal traffic.
A type no catalogue entry knows is not normal: it is counted
(``events_consumed_total{outcome="unknown_type"}``) and logged once per type, and it is not
dead-lettered. Why not: a dead letter says "this consumer should have processed this and could
not", to be fixed and replayed; no handler of this consumer exists for the type, so a replay
would change nothing. Every topic is read by several groups (the gateway, the audit, a worker),
so each would write its own copy of the same message to ``<topic>.dlq``, and a rolling upgrade
whose new producer ships a new type would flood the dead-letter topics with messages that are
fine. The audit service records such events (flagged), which is the durable trace operators
need; the counter and the log line make them visible on every consumer. (The same holds on the
topics a worker consumes requests from: a type it does not know there is no request it could
have served.) The AsyncAPI document states this rule for subscribers.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

from pydantic import ValidationError

from sds_common.bus.ports import ReceivedMessage
from sds_common.bus.subscription import (
    DeadLetterReason,
    Subscription,
    Unrecognised,
    UnrecognisedReason,
)
from sds_common.events.base import Envelope, Event
from sds_common.events.catalog import CATALOGUE, lookup, upcast_to
from sds_common.telemetry.metrics import ConsumeOutcome, Metrics

log = logging.getLogger(__name__)

#: Every type name of the catalogue, at any version.
KNOWN_TYPES: Final = frozenset(name for name, _ in CATALOGUE)
#: Distinct unknown types a consumer labels (and logs) by name; more are counted as ``(other)``,
#: so a producer inventing names cannot grow the metric's label set without bound.
MAX_UNKNOWN_TYPES: Final = 50


@dataclass
class Item:
    """One message on its way through the consumer."""

    message: ReceivedMessage
    envelope: Envelope | None = None
    event: Event | None = None
    targets: list[Subscription] = field(default_factory=list)
    poison: DeadLetterReason | None = None
    error: str | None = None

    @functools.cached_property
    def dedup_id(self) -> str:
        """The event id, or the message's position when there is no envelope."""
        # Cached: the fast path reads it several times per event, and str(UUID) is not free.
        if self.envelope is not None:
            return str(self.envelope.event_id)
        m = self.message
        return f"{m.topic}/{m.partition}/{m.offset}"


class Decoder:
    """Decodes messages for one consumer group's subscriptions."""

    def __init__(
        self,
        *,
        group_id: str,
        subscriptions: Sequence[Subscription],
        metrics: Metrics | None = None,
    ) -> None:
        self.group_id = group_id
        self._metrics = metrics
        self.by_type: dict[str, list[Subscription]] = {}
        self._unrecognised: list[Subscription] = []
        for sub in subscriptions:
            if sub.event is Unrecognised:
                self._unrecognised.append(sub)
            else:
                self.by_type.setdefault(sub.event.event_type, []).append(sub)
        self._unknown_types: set[str] = set()

    def decode(self, message: ReceivedMessage) -> Item:
        """Parse one message and pick its handlers (none: not for this consumer)."""
        item = Item(message=message)
        try:
            # Straight from bytes: pydantic's own JSON parser, one pass (``Envelope.from_bytes``
            # parses with orjson, then validates the resulting dict: about twice the time).
            item.envelope = Envelope.model_validate_json(message.value)
        except (ValueError, ValidationError) as exc:
            item.poison, item.error = "malformed", short_error(exc)
            return item
        envelope = item.envelope
        subs = self.by_type.get(envelope.type, [])
        if not subs:
            if envelope.type not in KNOWN_TYPES:
                self._unknown(message, envelope)
                self._route(item, "unknown_type")
            return item  # else not ours: other services read this topic for other types
        matching = [s for s in subs if s.event.event_version == envelope.version]
        model = matching[0].event if matching else _older_model(envelope)
        if model is None:
            supported = sorted({s.event.event_version for s in subs})
            error = (
                f"{envelope.type} version {envelope.version} is not supported by "
                f"{self.group_id} (supported: {supported})"
            )
            self._reject(item, "unsupported_version", error)
            return item
        try:
            event = model.model_validate(envelope.payload)
        except ValidationError as exc:
            self._reject(item, "invalid_payload", short_error(exc))
            return item
        if not matching:
            # An older version of a type this consumer handles at a newer one: upcast it.
            upcast = upcast_to(event, {s.event.event_version for s in subs})
            if upcast is None:
                error = f"{envelope.type} version {envelope.version} cannot upcast"
                self._reject(item, "unsupported_version", error)
                return item
            event = upcast
            matching = [s for s in subs if s.event.event_version == event.event_version]
        item.event = event
        item.targets = matching
        return item

    def subscribers(self, event_type: str) -> list[Subscription]:
        """The typed subscriptions of ``event_type`` (whose dead-letter hooks an event calls)."""
        return list(self.by_type.get(event_type, []))

    def _reject(
        self, item: Item, reason: Literal["unsupported_version", "invalid_payload"], error: str
    ) -> None:
        """An envelope of a type we handle that we cannot read: the catch-all, else poison."""
        if not self._route(item, reason):
            item.poison, item.error = reason, error

    def _route(self, item: Item, reason: UnrecognisedReason) -> bool:
        if not self._unrecognised:
            return False
        item.event = Unrecognised(reason=reason)
        item.targets = list(self._unrecognised)
        return True

    def _unknown(self, message: ReceivedMessage, envelope: Envelope) -> None:
        name = envelope.type
        if name not in self._unknown_types and len(self._unknown_types) < MAX_UNKNOWN_TYPES:
            self._unknown_types.add(name)
            log.warning(
                "consumer %s: event type %r on %s is in no catalogue entry; such events are "
                "counted (events_consumed_total, outcome unknown_type), not handled "
                "(logged once per type; first event %s)",
                self.group_id,
                name,
                message.topic,
                envelope.event_id,
            )
        label = name if name in self._unknown_types else "(other)"
        self._count(message, label, ConsumeOutcome.UNKNOWN_TYPE)

    def _count(self, message: ReceivedMessage, event_type: str, outcome: ConsumeOutcome) -> None:
        if self._metrics is not None:
            self._metrics.events_consumed_total.labels(
                topic=message.topic, type=event_type, outcome=outcome.value
            ).inc()


def _older_model(envelope: Envelope) -> type[Event] | None:
    try:
        return lookup(envelope.type, envelope.version)
    except LookupError:
        return None


def short_error(exc: BaseException) -> str:
    """An exception as one bounded line (for dead-letter headers and logs, never for users)."""
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 2000 else text[:1997] + "..."
