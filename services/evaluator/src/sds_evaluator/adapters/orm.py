"""Tables owned by the evaluator service (no other service reads them)."""

from sqlalchemy import JSON, Column, DateTime, Float, MetaData, String, Table, func

from sds_common.db import add_messaging_tables
from sds_common.jobs import add_job_table

metadata = MetaData()
messaging = add_messaging_tables(metadata)
jobs = add_job_table(metadata)

# What the evaluator needs to know of datasets and generators, learned from their events.
datasets = Table(
    "datasets",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("train_key", String(500), nullable=False),
    Column("holdout_key", String(500), nullable=False),
    Column("columns", JSON, nullable=False),
    Column("target_column", String(500), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

generators = Table(
    "generators",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("dataset_id", String(36), nullable=False),
    Column("method", String(64), nullable=False),
    Column("epsilon", Float, nullable=True),
    Column("delta", Float, nullable=True),
    Column("privacy_report_key", String(500), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

synthetic_datasets = Table(
    "synthetic_datasets",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("generator_id", String(36), nullable=False),
    Column("object_key", String(500), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
