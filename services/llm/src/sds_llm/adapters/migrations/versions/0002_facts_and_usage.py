"""Facts the llm service keeps from events (evaluations, dataset schemas, actors) and token usage.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "llm_evaluations",
        sa.Column("evaluation_id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=200), nullable=True),
        sa.Column("synthetic_dataset_id", sa.String(length=36), nullable=False),
        sa.Column("generator_id", sa.String(length=36), nullable=False),
        sa.Column("report_key", sa.String(length=1024), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("evaluation_id"),
    )
    op.create_table(
        "llm_datasets",
        sa.Column("dataset_id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=200), nullable=True),
        sa.Column("n_rows", sa.Integer(), nullable=False),
        sa.Column("n_columns", sa.Integer(), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("target_column", sa.String(length=1024), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("dataset_id"),
    )
    op.create_table(
        "llm_project_members",
        sa.Column("project_id", sa.String(length=200), nullable=False),
        sa.Column("user_id", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "user_id"),
    )
    op.create_table(
        "llm_token_usage",
        sa.Column("project_id", sa.String(length=200), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("tokens", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "day"),
    )


def downgrade() -> None:
    op.drop_table("llm_token_usage")
    op.drop_table("llm_project_members")
    op.drop_table("llm_datasets")
    op.drop_table("llm_evaluations")
