"""Events of the ``access`` topic, reported by the gateway, keyed by the acting user id."""

from __future__ import annotations

from uuid import UUID

from pydantic import Field

from sds_common.events import topics
from sds_common.events.base import Event


class _AccessEvent(Event):
    topic = topics.ACCESS
    key_field = "user_id"


class AuthenticationFailed(_AccessEvent):
    """A request was refused before reaching a handler. Never carries a secret or signature."""

    event_type = "AuthenticationFailed"
    user_id: str = Field(default="anonymous", max_length=200)
    reason: str
    method: str
    path: str
    client: str | None = None


class SyntheticDataDownloaded(_AccessEvent):
    event_type = "SyntheticDataDownloaded"
    user_id: str
    synthetic_dataset_id: UUID
    format: str
