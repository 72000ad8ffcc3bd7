"""Webhook rules: which events may be subscribed, the retry schedule, when an endpoint is disabled.

A delivery is one event for one endpoint. It is attempted at once, then retried on the Standard
Webhooks schedule (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: about 27.6 hours in all) plus up to
10 % jitter, so a receiver that is down for a day still gets everything. After the last attempt
the delivery is ``failed``; an endpoint is disabled (and says why) once N deliveries in a row
failed, or once every attempt failed for a whole period (5 days by default).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from sds_common.events import CATALOGUE
from sds_gateway.domain.errors import Invalid

STANDARD_SCHEDULE_S: Final = (0.0, 5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)
JITTER_FRACTION: Final = 0.1
PING_EVENT_TYPE: Final = "WebhookTest"
MAX_EVENT_TYPES: Final = 100
_DELIVERY_NAMESPACE = uuid.UUID("5b8f0c1e-4a7d-4f3b-9c2e-7d6a1b0e9f43")


class DeliveryState(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINAL_STATES: Final = frozenset(
    {DeliveryState.SUCCEEDED, DeliveryState.FAILED, DeliveryState.CANCELLED}
)


def subscribable_event_types() -> frozenset[str]:
    """The public event types of the catalogue (every version shares its type name)."""
    return frozenset(event_type for event_type, _version in CATALOGUE)


def check_event_types(requested: Iterable[str]) -> list[str]:
    """The requested event types, deduplicated and sorted.

    Raises:
        Invalid: none, too many, or a type the catalogue does not know.
    """
    wanted = sorted(set(requested))
    if not wanted:
        raise Invalid("subscribe to at least one event type")
    if len(wanted) > MAX_EVENT_TYPES:
        raise Invalid(f"subscribe to at most {MAX_EVENT_TYPES} event types")
    known = subscribable_event_types()
    unknown = [t for t in wanted if t not in known]
    if unknown:
        raise Invalid(
            f"unknown event types: {', '.join(unknown)} (known: {', '.join(sorted(known))})",
            code="unknown_event_type",
        )
    return wanted


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """How deliveries are retried and when an endpoint is given up.

    Attributes:
        schedule_s: delay before each attempt of a round (the first is normally 0).
        timeout_s: how long one attempt may take.
        disable_after_failures: failed deliveries in a row that disable the endpoint.
        disable_after_s: how long every attempt may fail before the endpoint is disabled.
        jitter_fraction: at most this fraction of a delay is added at random.
    """

    schedule_s: tuple[float, ...] = STANDARD_SCHEDULE_S
    timeout_s: float = 10.0
    disable_after_failures: int = 20
    disable_after_s: float = 5 * 24 * 3600.0
    jitter_fraction: float = JITTER_FRACTION

    def retry_delay(self, failed_in_round: int, *, rand: float) -> float | None:
        """Seconds until the next attempt after ``failed_in_round`` failures, None when done.

        Args:
            failed_in_round: failed attempts of this round so far (at least 1).
            rand: a random number in [0, 1) that sets the jitter.
        """
        if failed_in_round >= len(self.schedule_s):
            return None
        delay = self.schedule_s[failed_in_round]
        return delay + delay * self.jitter_fraction * rand

    def disable_reason(
        self, *, consecutive_failures: int, failing_since: datetime | None, now: datetime
    ) -> str | None:
        """Why the endpoint should be disabled now, or None when it should not."""
        if consecutive_failures >= self.disable_after_failures:
            return (
                f"disabled automatically: {consecutive_failures} deliveries in a row failed "
                "every attempt"
            )
        if failing_since is not None and now - failing_since >= timedelta(
            seconds=self.disable_after_s
        ):
            return (
                "disabled automatically: every attempt failed since "
                f"{failing_since.isoformat(timespec='seconds')}"
            )
        return None


def delivery_id_for(*, webhook_id: str, event_id: str) -> str:
    """The id of an event's delivery to an endpoint: the same for a redelivered event."""
    return str(uuid.uuid5(_DELIVERY_NAMESPACE, f"{webhook_id}/{event_id}"))


def message_body(*, event_type: str, occurred_at: datetime, data: Mapping[str, Any]) -> str:
    """The JSON body of a webhook message: ``{type, timestamp, data}`` (Standard Webhooks)."""
    return json.dumps(
        {"type": event_type, "timestamp": occurred_at.isoformat(), "data": data},
        separators=(",", ":"),
        sort_keys=True,
        default=str,
    )
