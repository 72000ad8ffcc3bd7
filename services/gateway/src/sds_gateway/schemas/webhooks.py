"""Webhooks: subscriptions of a project to event types, and their delivery log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ConfigDict, Field

from sds_gateway.domain.webhook_targets import MAX_URL_LENGTH
from sds_gateway.domain.webhooks import MAX_EVENT_TYPES, DeliveryState
from sds_gateway.schemas.common import EXAMPLE_PROJECT, EXAMPLE_TIME, RequestBody, Schema

EXAMPLE_WEBHOOK = "4c7e2a91-5b3d-4f6e-8a1c-9d0b2e3f4a5b"
EXAMPLE_DELIVERY = "8e1f3b5d-7a9c-5e2b-a4d6-0c8e1f3b5d7a"
EXAMPLE_EVENT = "2d4f6a8c-0e1b-4c3d-9f5a-7b8c9d0e1f2a"
EXAMPLE_URL = "https://hooks.example.com/sds"


class WebhookCreate(RequestBody):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "project_id": EXAMPLE_PROJECT,
                    "url": EXAMPLE_URL,
                    "event_types": ["ModelTrained", "EvaluationCompleted"],
                    "description": "tell the data team",
                }
            ]
        },
    )

    project_id: str = Field(max_length=36)
    url: str = Field(
        min_length=1,
        max_length=MAX_URL_LENGTH,
        description="http(s) URL that receives the events; must be public unless allow-listed",
    )
    event_types: list[str] = Field(
        min_length=1,
        max_length=MAX_EVENT_TYPES,
        description="event types to deliver (see the AsyncAPI catalogue)",
    )
    description: str = Field(default="", max_length=500)


class WebhookUpdate(RequestBody):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"enabled": True, "event_types": ["ModelTrained"]}]},
    )

    url: str | None = Field(default=None, min_length=1, max_length=MAX_URL_LENGTH)
    event_types: list[str] | None = Field(default=None, min_length=1, max_length=MAX_EVENT_TYPES)
    description: str | None = Field(default=None, max_length=500)
    enabled: bool | None = Field(
        default=None, description="false pauses deliveries; true resumes and clears failures"
    )


_WEBHOOK_EXAMPLE: dict[str, Any] = {
    "id": EXAMPLE_WEBHOOK,
    "project_id": EXAMPLE_PROJECT,
    "url": EXAMPLE_URL,
    "description": "tell the data team",
    "event_types": ["EvaluationCompleted", "ModelTrained"],
    "enabled": True,
    "disabled_reason": None,
    "disabled_at": None,
    "consecutive_failures": 0,
    "failing_since": None,
    "created_by": "user_123",
    "created_at": EXAMPLE_TIME,
    "updated_at": EXAMPLE_TIME,
}


class Webhook(Schema):
    """An endpoint that receives a project's events, signed the Standard Webhooks way."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_WEBHOOK_EXAMPLE]})

    id: str
    project_id: str
    url: str
    description: str
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None = Field(
        description="why it is disabled (by a member, or automatically after failures)"
    )
    disabled_at: datetime | None
    consecutive_failures: int = Field(description="deliveries in a row that failed every attempt")
    failing_since: datetime | None = Field(
        description="first failed attempt since the last success"
    )
    created_by: str
    created_at: datetime
    updated_at: datetime


class WebhookCreated(Webhook):
    """A new webhook, with its signing secret (shown this once)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{**_WEBHOOK_EXAMPLE, "secret": "whsec_" + "A" * 43 + "="}]},
    )

    secret: str = Field(
        description="signing secret (whsec_ + base64 key); store it now: it is never shown again"
    )


class DeliveryAttempt(Schema):
    """One try to deliver a message."""

    number: int
    attempted_at: datetime
    status_code: int | None = Field(description="the receiver's HTTP status, if it answered")
    error: str | None
    latency_ms: float


class WebhookDelivery(Schema):
    """One event sent to one webhook, with every attempt."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "id": EXAMPLE_DELIVERY,
                    "webhook_id": EXAMPLE_WEBHOOK,
                    "event_id": EXAMPLE_EVENT,
                    "event_type": "ModelTrained",
                    "state": "pending",
                    "attempt_count": 1,
                    "next_attempt_at": EXAMPLE_TIME,
                    "last_status_code": 503,
                    "last_error": "HTTP 503",
                    "created_at": EXAMPLE_TIME,
                    "updated_at": EXAMPLE_TIME,
                    "finished_at": None,
                    "attempts": [
                        {
                            "number": 1,
                            "attempted_at": EXAMPLE_TIME,
                            "status_code": 503,
                            "error": "HTTP 503",
                            "latency_ms": 41.2,
                        }
                    ],
                }
            ]
        },
    )

    id: str
    webhook_id: str
    event_id: str = Field(description="the webhook-id header: the same on every attempt")
    event_type: str
    state: DeliveryState
    attempt_count: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    attempts: list[DeliveryAttempt]
