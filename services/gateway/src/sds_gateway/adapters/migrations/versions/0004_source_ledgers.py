"""Budgets per data source: each upload's source label, each ledger entry's ledger.

Revision ID: 0004_source_ledgers
Revises: 0002
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_source_ledgers"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source", sa.String(length=200), nullable=True))
        batch_op.create_index("ix_datasets_project_sha256", ["project_id", "sha256"])
    with op.batch_alter_table("privacy_ledger", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ledger", sa.String(length=300), nullable=True))
        batch_op.create_index("ix_privacy_ledger_ledger", ["project_id", "ledger", "id"])


def downgrade() -> None:
    with op.batch_alter_table("privacy_ledger", schema=None) as batch_op:
        batch_op.drop_index("ix_privacy_ledger_ledger")
        batch_op.drop_column("ledger")
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.drop_index("ix_datasets_project_sha256")
        batch_op.drop_column("source")
