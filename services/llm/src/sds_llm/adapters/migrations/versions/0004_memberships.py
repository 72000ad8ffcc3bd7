"""Memberships from the gateway's events: role and version per (project, user); deleted accounts.

Rows recorded before this revision were inferred from who acted in a project (the gateway allows
only owners and editors to upload, train, sample or evaluate): they become ``editor`` rows dated
at the epoch, so any membership event of the gateway supersedes them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def upgrade() -> None:
    with op.batch_alter_table("llm_project_members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("role", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True))
    inferred = sa.table(
        "llm_project_members",
        sa.column("role", sa.String()),
        sa.column("changed_at", sa.DateTime(timezone=True)),
    )
    op.execute(inferred.update().values(role="editor", changed_at=_EPOCH))
    with op.batch_alter_table("llm_project_members", schema=None) as batch_op:
        batch_op.alter_column(
            "changed_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )
        batch_op.create_index("ix_llm_project_members_user", ["user_id"], unique=False)
    op.create_table(
        "llm_deleted_accounts",
        sa.Column("user_id", sa.String(length=200), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id"),
    )


def downgrade() -> None:
    op.drop_table("llm_deleted_accounts")
    # Removed members' rows would read as members once the role is gone: drop them first.
    removed = sa.table("llm_project_members", sa.column("role", sa.String()))
    op.execute(removed.delete().where(removed.c.role.is_(None)))
    with op.batch_alter_table("llm_project_members", schema=None) as batch_op:
        batch_op.drop_index("ix_llm_project_members_user")
        batch_op.drop_column("changed_at")
        batch_op.drop_column("role")
