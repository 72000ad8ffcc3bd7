"""The headers of every message and of every dead letter: their names and what they mean.

Producers write exactly these (``Envelope.header_items``, the trace propagator, the dead-letter
writer) and the AsyncAPI document is generated from them, so what is published and what is
documented cannot drift apart (tests compare both with real messages).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

EVENT_TYPE: Final = "event-type"
EVENT_VERSION: Final = "event-version"
EVENT_ID: Final = "event-id"
CONTENT_TYPE: Final = "content-type"
#: The one body format.
JSON: Final = "application/json"

#: Headers on every message, from the envelope: a broker or tool can route without the body.
MESSAGE_HEADERS: Final[Mapping[str, str]] = {
    EVENT_TYPE: "the envelope's type",
    EVENT_VERSION: "the envelope's version, as decimal text",
    EVENT_ID: "the envelope's event_id (consumers deduplicate on it)",
    CONTENT_TYPE: f"the body's media type: always {JSON}",
}
#: W3C trace context of the span that produced the message (present when there is one).
TRACE_HEADERS: Final[Mapping[str, str]] = {
    "traceparent": "W3C trace context of the producing span: one trace spans HTTP, bus and jobs",
    "tracestate": "W3C vendor trace state, when the trace carries one",
}
#: Headers a dead letter adds to the original message's (on ``<topic>.dlq``).
DEAD_LETTER_HEADERS: Final[Mapping[str, str]] = {
    "dlq-reason": "malformed, unsupported_version, invalid_payload or handler_failed",
    "dlq-error": "what failed, for operators (exception or validation errors; up to 2000 bytes)",
    "dlq-consumer": "the consumer group that gave up on the message",
    "dlq-handler": "the subscription that kept failing (handler_failed), else empty",
    "dlq-original-topic": "the topic the message was read from",
    "dlq-original-partition": "its partition there",
    "dlq-original-offset": "its offset there",
    "dlq-failed-at": "when it was given up (ISO 8601, UTC)",
}
