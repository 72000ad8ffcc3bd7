"""Durable jobs: explanations are generated outside the consumer's transaction.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from alembic import op

from sds_common.db.migrations import create_job_table

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_job_table()


def downgrade() -> None:
    op.drop_index("ix_jobs_status", table_name="jobs")
    op.drop_table("jobs")
