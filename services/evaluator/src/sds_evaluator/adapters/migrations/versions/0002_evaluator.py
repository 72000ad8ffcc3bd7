"""Jobs, and what the evaluator knows of datasets and generators.

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


def _created() -> sa.Column[object]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    )


def upgrade() -> None:
    create_job_table()
    op.create_table(
        "datasets",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("train_key", sa.String(500), nullable=False),
        sa.Column("holdout_key", sa.String(500), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("target_column", sa.String(500), nullable=True),
        _created(),
    )
    op.create_table(
        "generators",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("dataset_id", sa.String(36), nullable=False),
        sa.Column("method", sa.String(64), nullable=False),
        sa.Column("epsilon", sa.Float(), nullable=True),
        sa.Column("delta", sa.Float(), nullable=True),
        sa.Column("privacy_report_key", sa.String(500), nullable=True),
        _created(),
    )
    op.create_table(
        "synthetic_datasets",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("generator_id", sa.String(36), nullable=False),
        sa.Column("object_key", sa.String(500), nullable=False),
        _created(),
    )


def downgrade() -> None:
    op.drop_table("synthetic_datasets")
    op.drop_table("generators")
    op.drop_table("datasets")
    op.drop_table("jobs")
