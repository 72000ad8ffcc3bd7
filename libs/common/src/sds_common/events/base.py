"""Event contracts: the envelope every message travels in, and the base of every payload.

Payload models are frozen pydantic models named in the past tense. Each declares, as class
constants, its ``event_type`` and ``event_version`` (a breaking payload change is a new model with
the next version; the old one stays registered so old messages keep parsing), the logical topic it
travels on and the payload field whose value is the partition key, so one aggregate's events stay
in order.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, Literal, Self
from uuid import UUID, uuid4

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue

from sds_common.events import headers


class Event(BaseModel):
    """Base of every event payload. Subclasses set the four class constants."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: ClassVar[str]
    event_version: ClassVar[int] = 1
    topic: ClassVar[str]
    key_field: ClassVar[str]

    def partition_key(self) -> str:
        """Return the aggregate id that orders this event among its peers."""
        return str(getattr(self, self.key_field))

    def upcast(self) -> Event:
        """This event at the next version of its type; the latest version returns itself.

        An old version whose successor changed the payload overrides it, so a message written
        before the change reaches handlers that subscribe to the new version only.
        """
        return self


UnrecognisedReason = Literal["unknown_type", "unsupported_version", "invalid_payload"]


class Unrecognised(Event):
    """Stands for the payload of an envelope that no registered model could read.

    Never published and never in the catalogue: a consumer's ``unrecognised`` subscription
    receives it (with the envelope as it came) for an unknown type or version, or a payload that
    does not validate.
    """

    event_type: ClassVar[str] = "*"
    topic: ClassVar[str] = "*"
    key_field: ClassVar[str] = "reason"

    reason: UnrecognisedReason


class Envelope(BaseModel):
    """The wire form of every event: metadata plus the payload as plain JSON.

    Attributes:
        event_id: unique id; consumers deduplicate on it.
        type: the payload's ``event_type``.
        version: the payload's ``event_version``.
        occurred_at: when the fact happened (UTC).
        correlation_id: the job or dataset the whole flow is about.
        causation_id: the ``event_id`` of the event that caused this one, if any.
        actor: user id or service name.
        project_id: the tenant the event belongs to, if any.
        key: partition key (the aggregate id).
        payload: the event body, validated against the registered model on consumption.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: UUID = Field(default_factory=uuid4)
    type: str = Field(min_length=1, max_length=100)
    version: int = Field(ge=1)
    occurred_at: AwareDatetime = Field(default_factory=lambda: datetime.now(UTC))
    correlation_id: str = Field(min_length=1, max_length=200)
    causation_id: str | None = Field(default=None, max_length=200)
    actor: str = Field(min_length=1, max_length=200)
    project_id: str | None = Field(default=None, max_length=200)
    key: str = Field(min_length=1, max_length=200)
    payload: dict[str, JsonValue]

    @classmethod
    def wrap(
        cls,
        event: Event,
        *,
        actor: str,
        correlation_id: str | None = None,
        project_id: str | None = None,
        caused_by: Envelope | None = None,
    ) -> Self:
        """Wrap a payload in a new envelope.

        Args:
            event: the payload.
            actor: who caused it (user id or service name).
            correlation_id: the flow's id; inherited from ``caused_by``, else the event's key.
            project_id: the tenant; inherited from ``caused_by`` when not given.
            caused_by: the envelope being handled when this event is emitted.

        Returns:
            A new envelope with a fresh ``event_id``.
        """
        key = event.partition_key()
        if caused_by is not None:
            correlation_id = correlation_id or caused_by.correlation_id
            project_id = project_id or caused_by.project_id
        return cls(
            type=event.event_type,
            version=event.event_version,
            correlation_id=correlation_id or key,
            causation_id=str(caused_by.event_id) if caused_by else None,
            actor=actor,
            project_id=project_id,
            key=key,
            payload=event.model_dump(mode="json"),
        )

    def to_bytes(self) -> bytes:
        """Serialise to compact JSON."""
        return orjson.dumps(self.model_dump(mode="json"))

    @classmethod
    def from_bytes(cls, raw: bytes) -> Self:
        """Parse and validate the envelope (not the payload) from JSON bytes."""
        return cls.model_validate(orjson.loads(raw))

    def header_items(self) -> list[tuple[str, bytes]]:
        """Headers that let brokers and tools route without parsing the body."""
        return [
            (headers.EVENT_TYPE, self.type.encode()),
            (headers.EVENT_VERSION, str(self.version).encode()),
            (headers.EVENT_ID, str(self.event_id).encode()),
            (headers.CONTENT_TYPE, headers.JSON.encode()),
        ]


def event_json(event: Event) -> dict[str, Any]:
    """Return the JSON form of a payload (handy in tests and docs)."""
    return event.model_dump(mode="json")
