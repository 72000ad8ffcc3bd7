"""Tables owned by the trainer service (no other service reads them)."""

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
)

from sds_common.db import add_messaging_tables
from sds_common.jobs import add_job_table

metadata = MetaData()
messaging = add_messaging_tables(metadata)
jobs = add_job_table(metadata)

# What the trainer knows of each dataset (from DatasetProfiled) and its privacy budget. The
# reservation is a conditional UPDATE on this row, so concurrent trainings cannot overspend.
datasets = Table(
    "datasets",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("project_id", String(200), nullable=True),
    Column("status", String(16), nullable=False),
    Column("train_key", String(500), nullable=False),
    Column("train_rows", Integer, nullable=False),
    Column("columns", JSON, nullable=False),
    Column("epsilon_total", Float, nullable=False),
    Column("delta_total", Float, nullable=False),
    Column("epsilon_reserved", Float, nullable=False, default=0.0),
    Column("epsilon_spent", Float, nullable=False, default=0.0),
    Column("delta_spent", Float, nullable=False, default=0.0),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# One row per training: its reservation and what was finally charged.
reservations = Table(
    "budget_reservations",
    metadata,
    Column("generator_id", String(36), primary_key=True),
    Column("dataset_id", String(36), nullable=False, index=True),
    Column("epsilon", Float, nullable=False),
    Column("delta", Float, nullable=False),
    Column("status", String(16), nullable=False),  # reserved | spent | released
    Column("epsilon_spent", Float, nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

generators = Table(
    "generators",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("dataset_id", String(36), nullable=False, index=True),
    Column("project_id", String(200), nullable=True),
    Column("method", String(64), nullable=False),
    Column("request", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("model_key", String(500), nullable=True),
    Column("report", JSON, nullable=True),
    Column("error", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# The public metadata the owners declared for each dataset (PublicMetadataDeclared), every
# version: a training uses the one its request names, even after a newer one arrives.
public_metadata = Table(
    "public_metadata",
    metadata,
    Column("dataset_id", String(36), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("columns", JSON, nullable=False),
    Column("target_classes_public", Boolean, nullable=False),
    Column("declared_by", String(200), nullable=False),
    Column("declared_at", DateTime(timezone=True), nullable=False),
)
