"""Tables of webhooks: endpoints, one delivery per (endpoint, event), one row per attempt.

Added to the gateway's metadata by ``adapters.orm`` (migration ``0003_webhooks``). Deliveries are
sent by durable background jobs (``sds_common.jobs``) in ``background_jobs``: the gateway's
``jobs`` table is the read model of user-visible jobs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from sds_common.jobs import add_job_table

BACKGROUND_JOBS = "background_jobs"


@dataclass(frozen=True)
class WebhookTables:
    """The webhook tables of one metadata."""

    webhooks: Table
    deliveries: Table
    attempts: Table
    jobs: Table


def _ts(name: str, *, nullable: bool = False) -> Column[datetime]:
    return Column(name, DateTime(timezone=True), nullable=nullable)


def add_webhook_tables(metadata: MetaData) -> WebhookTables:
    """Add the webhook tables (and the background job table) to ``metadata``."""
    webhooks = Table(
        "webhooks",
        metadata,
        Column("id", String(36), primary_key=True),
        Column(
            "project_id",
            String(36),
            ForeignKey("projects.id", name="fk_webhooks_project"),
            nullable=False,
        ),
        Column("url", String(2048), nullable=False),
        Column("description", Text, nullable=False),
        Column("event_types", JSON, nullable=False),
        Column("secret", Text, nullable=False),
        Column("enabled", Boolean, nullable=False),
        Column("disabled_reason", Text, nullable=True),
        _ts("disabled_at", nullable=True),
        Column("consecutive_failures", Integer, nullable=False),
        _ts("failing_since", nullable=True),
        Column("created_by", String(200), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        Index("ix_webhooks_project_created", "project_id", "created_at", "id"),
    )
    deliveries = Table(
        "webhook_deliveries",
        metadata,
        Column("id", String(36), primary_key=True),
        Column(
            "webhook_id",
            String(36),
            ForeignKey("webhooks.id", name="fk_webhook_deliveries_webhook"),
            nullable=False,
        ),
        Column("project_id", String(36), nullable=False),
        Column("event_id", String(36), nullable=False),
        Column("event_type", String(100), nullable=False),
        Column("body", Text, nullable=False),
        Column("state", String(16), nullable=False),
        Column("attempts", Integer, nullable=False),
        Column("round_start", Integer, nullable=False),
        _ts("next_attempt_at", nullable=True),
        Column("last_status_code", Integer, nullable=True),
        Column("last_error", Text, nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        _ts("finished_at", nullable=True),
        Index("ix_webhook_deliveries_webhook_created", "webhook_id", "created_at", "id"),
    )
    attempts = Table(
        "webhook_attempts",
        metadata,
        Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
        Column(
            "delivery_id",
            String(36),
            ForeignKey("webhook_deliveries.id", name="fk_webhook_attempts_delivery"),
            nullable=False,
        ),
        Column("number", Integer, nullable=False),
        _ts("attempted_at"),
        Column("status_code", Integer, nullable=True),
        Column("error", Text, nullable=True),
        Column("latency_ms", Float, nullable=False),
        Index("ix_webhook_attempts_delivery", "delivery_id", "number"),
    )
    return WebhookTables(
        webhooks=webhooks,
        deliveries=deliveries,
        attempts=attempts,
        jobs=add_job_table(metadata, name=BACKGROUND_JOBS),
    )
