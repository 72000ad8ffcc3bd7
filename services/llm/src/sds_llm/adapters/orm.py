"""Tables owned by the llm service (no other service reads them).

They hold only what the llm service learns from events: ids, object keys, the column SCHEMA
(names, kinds, missing fractions, PII kinds) and token usage. Never values or profile statistics.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, Index, Integer, MetaData, String, Table

from sds_common.db import add_messaging_tables
from sds_common.jobs import add_job_table

metadata = MetaData()
messaging = add_messaging_tables(metadata)
# Provider calls run as durable jobs (``sds_llm.jobs``), never inside a consumer's transaction.
jobs = add_job_table(metadata)

evaluations = Table(
    "llm_evaluations",
    metadata,
    Column("evaluation_id", String(36), primary_key=True),
    Column("project_id", String(200), nullable=True),
    Column("synthetic_dataset_id", String(36), nullable=False),
    Column("generator_id", String(36), nullable=False),
    Column("report_key", String(1024), nullable=False),
    Column("scores", JSON, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

datasets = Table(
    "llm_datasets",
    metadata,
    Column("dataset_id", String(36), primary_key=True),
    Column("project_id", String(200), nullable=True),
    Column("n_rows", Integer, nullable=False),
    Column("n_columns", Integer, nullable=False),
    Column("columns", JSON, nullable=False),
    Column("target_column", String(1024), nullable=True),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

# Who may use the llm routes of a project: the gateway's memberships, as its
# ``ProjectMembershipChanged`` events tell them. ``role`` is null once the member was removed (the
# row stays, so that an older event delivered late is recognised as older); ``changed_at`` is the
# ``occurred_at`` of the event that set the row, the version a later-arriving event must beat.
project_members = Table(
    "llm_project_members",
    metadata,
    Column("project_id", String(200), primary_key=True),
    Column("user_id", String(200), primary_key=True),
    Column("role", String(16), nullable=True),
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Index("ix_llm_project_members_user", "user_id"),
)

# Accounts deleted (``AccountDeleted``): a membership event of the user that occurred before the
# deletion and arrives after it grants nothing. Only the opaque id and the time are kept.
deleted_accounts = Table(
    "llm_deleted_accounts",
    metadata,
    Column("user_id", String(200), primary_key=True),
    Column("deleted_at", DateTime(timezone=True), nullable=False),
)

token_usage = Table(
    "llm_token_usage",
    metadata,
    Column("project_id", String(200), primary_key=True),
    Column("day", String(10), primary_key=True),
    Column("tokens", Integer, nullable=False),
)
