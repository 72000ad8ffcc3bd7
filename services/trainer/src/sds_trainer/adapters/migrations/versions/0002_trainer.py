"""Jobs, datasets with their privacy budget, reservations, generators.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

from sds_common.db.migrations import create_job_table

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _timestamp(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    create_job_table()
    op.create_table(
        "datasets",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("project_id", sa.String(200), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("train_key", sa.String(500), nullable=False),
        sa.Column("train_rows", sa.Integer(), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("epsilon_total", sa.Float(), nullable=False),
        sa.Column("delta_total", sa.Float(), nullable=False),
        sa.Column("epsilon_reserved", sa.Float(), nullable=False),
        sa.Column("epsilon_spent", sa.Float(), nullable=False),
        sa.Column("delta_spent", sa.Float(), nullable=False),
        _timestamp("created_at"),
    )
    op.create_table(
        "budget_reservations",
        sa.Column("generator_id", sa.String(36), primary_key=True),
        sa.Column("dataset_id", sa.String(36), nullable=False),
        sa.Column("epsilon", sa.Float(), nullable=False),
        sa.Column("delta", sa.Float(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("epsilon_spent", sa.Float(), nullable=True),
        _timestamp("updated_at"),
    )
    op.create_index("ix_budget_reservations_dataset_id", "budget_reservations", ["dataset_id"])
    op.create_table(
        "generators",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("dataset_id", sa.String(36), nullable=False),
        sa.Column("project_id", sa.String(200), nullable=True),
        sa.Column("method", sa.String(64), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("model_key", sa.String(500), nullable=True),
        sa.Column("report", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        _timestamp("created_at"),
        _timestamp("updated_at"),
    )
    op.create_index("ix_generators_dataset_id", "generators", ["dataset_id"])


def downgrade() -> None:
    op.drop_table("generators")
    op.drop_table("budget_reservations")
    op.drop_table("datasets")
    op.drop_table("jobs")
