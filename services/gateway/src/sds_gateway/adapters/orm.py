"""Tables owned by the gateway service (no other service reads them).

Everything here is a read model fed by events, plus the projects and memberships the gateway
owns outright. Ids are UUID strings; timestamps are UTC.
"""

from __future__ import annotations

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
    UniqueConstraint,
)

from sds_common.db import add_messaging_tables
from sds_gateway.adapters.access_tables import add_access_tables
from sds_gateway.adapters.declaration_tables import add_declaration_tables
from sds_gateway.adapters.webhook_tables import add_webhook_tables

metadata = MetaData()
messaging = add_messaging_tables(metadata)

_SEQ = BigInteger().with_variant(Integer(), "sqlite")


def _ts(name: str, *, nullable: bool = False) -> Column[datetime]:
    return Column(name, DateTime(timezone=True), nullable=nullable)


users = Table(
    "users",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("email", String(320), nullable=False),
    Column("role", String(16), nullable=False),
    _ts("created_at"),
    _ts("updated_at"),
)

projects = Table(
    "projects",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("created_by", String(200), nullable=False),
    _ts("created_at"),
    _ts("updated_at"),
    _ts("deleted_at", nullable=True),
    Index("ix_projects_created", "created_at", "id"),
)

project_members = Table(
    "project_members",
    metadata,
    Column(
        "project_id",
        String(36),
        ForeignKey("projects.id", name="fk_project_members_project"),
        primary_key=True,
    ),
    Column("user_id", String(200), primary_key=True),
    Column("role", String(16), nullable=False),
    _ts("created_at"),
    Index("ix_project_members_user", "user_id"),
)

datasets = Table(
    "datasets",
    metadata,
    Column("id", String(36), primary_key=True),
    Column(
        "project_id",
        String(36),
        ForeignKey("projects.id", name="fk_datasets_project"),
        nullable=False,
    ),
    Column("name", String(200), nullable=False),
    Column("filename", String(255), nullable=False),
    Column("format", String(16), nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("object_key", String(1024), nullable=False),
    Column("status", String(16), nullable=False),
    Column("error_code", String(100), nullable=True),
    Column("error_message", Text, nullable=True),
    Column("error_row", BigInteger, nullable=True),
    Column("error_column", String(255), nullable=True),
    Column("n_rows", BigInteger, nullable=True),
    Column("n_columns", Integer, nullable=True),
    Column("train_rows", BigInteger, nullable=True),
    Column("holdout_rows", BigInteger, nullable=True),
    Column("columns", JSON, nullable=True),
    Column("target_column", String(255), nullable=True),
    Column("profile_key", String(1024), nullable=True),
    Column("created_by", String(200), nullable=False),
    _ts("created_at"),
    _ts("updated_at"),
    Index("ix_datasets_project_created", "project_id", "created_at", "id"),
)

generators = Table(
    "generators",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("project_id", String(36), nullable=False),
    Column(
        "dataset_id",
        String(36),
        ForeignKey("datasets.id", name="fk_generators_dataset"),
        nullable=False,
    ),
    Column("method", String(64), nullable=False),
    Column("params", JSON, nullable=False),
    Column("privacy", JSON, nullable=True),
    Column("status", String(16), nullable=False),
    Column("device", String(64), nullable=True),
    Column("epoch", Integer, nullable=True),
    Column("total_epochs", Integer, nullable=True),
    Column("epsilon_spent", Float, nullable=True),
    Column("losses", JSON, nullable=True),
    Column("epsilon", Float, nullable=True),
    Column("delta", Float, nullable=True),
    Column("epochs", Integer, nullable=True),
    Column("duration_s", Float, nullable=True),
    Column("model_key", String(1024), nullable=True),
    Column("privacy_report_key", String(1024), nullable=True),
    Column("error_code", String(100), nullable=True),
    Column("error_message", Text, nullable=True),
    Column("created_by", String(200), nullable=False),
    _ts("created_at"),
    _ts("updated_at"),
    _ts("started_at", nullable=True),
    _ts("finished_at", nullable=True),
    _ts("cancel_requested_at", nullable=True),
    Index("ix_generators_project_created", "project_id", "created_at", "id"),
    Index("ix_generators_dataset", "dataset_id"),
)

synthetic_datasets = Table(
    "synthetic_datasets",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("project_id", String(36), nullable=False),
    Column(
        "generator_id",
        String(36),
        ForeignKey("generators.id", name="fk_synthetic_datasets_generator"),
        nullable=False,
    ),
    Column("dataset_id", String(36), nullable=False),
    Column("rows_requested", BigInteger, nullable=False),
    Column("rows", BigInteger, nullable=True),
    Column("seed", BigInteger, nullable=True),
    Column("conditions", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("object_key", String(1024), nullable=True),
    Column("error_code", String(100), nullable=True),
    Column("error_message", Text, nullable=True),
    Column("created_by", String(200), nullable=False),
    _ts("created_at"),
    _ts("updated_at"),
    _ts("finished_at", nullable=True),
    Index("ix_synthetic_datasets_generator", "generator_id"),
)

evaluations = Table(
    "evaluations",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("project_id", String(36), nullable=False),
    Column(
        "synthetic_dataset_id",
        String(36),
        ForeignKey("synthetic_datasets.id", name="fk_evaluations_synthetic_dataset"),
        nullable=False,
    ),
    Column("generator_id", String(36), nullable=True),
    Column("automatic", Boolean, nullable=False),
    Column("target_column", String(255), nullable=True),
    Column("status", String(16), nullable=False),
    Column("scores", JSON, nullable=True),
    Column("report_key", String(1024), nullable=True),
    Column("html_report_key", String(1024), nullable=True),
    Column("error_code", String(100), nullable=True),
    Column("error_message", Text, nullable=True),
    _ts("created_at"),
    _ts("updated_at"),
    _ts("finished_at", nullable=True),
    Index("ix_evaluations_synthetic_dataset", "synthetic_dataset_id", "created_at", "id"),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("project_id", String(36), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("progress", Float, nullable=False),
    Column("message", Text, nullable=True),
    _ts("created_at"),
    _ts("updated_at"),
)

job_events = Table(
    "job_events",
    metadata,
    Column("seq", _SEQ, primary_key=True, autoincrement=True),
    Column("job_id", String(36), nullable=False),
    Column("type", String(64), nullable=False),
    Column("data", JSON, nullable=False),
    _ts("created_at"),
    Index("ix_job_events_job_seq", "job_id", "seq"),
)

privacy_ledger = Table(
    "privacy_ledger",
    metadata,
    Column("id", _SEQ, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False),
    Column("dataset_id", String(36), nullable=False),
    Column("project_id", String(36), nullable=True),
    Column("generator_id", String(36), nullable=False),
    Column("entry", String(16), nullable=False),
    Column("epsilon", Float, nullable=False),
    Column("delta", Float, nullable=False),
    Column("remaining_epsilon", Float, nullable=True),
    Column("details", JSON, nullable=False),
    _ts("occurred_at"),
    UniqueConstraint("event_id", name="uq_privacy_ledger_event"),
    Index("ix_privacy_ledger_dataset", "dataset_id", "id"),
)

# Webhook endpoints, deliveries and attempts, and the background jobs that send them.
webhook_tables = add_webhook_tables(metadata)

# API keys of machine clients (and the users-by-email index).
api_keys = add_access_tables(metadata)

# The public metadata the owners of each dataset declared (the schema review).
declarations = add_declaration_tables(metadata)
