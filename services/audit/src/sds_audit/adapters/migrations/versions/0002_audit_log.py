"""The hash-chained audit log, its head, signed checkpoints and the resource index.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_GENESIS = "0" * 64


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("seq", _SEQ, autoincrement=False, nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("event_version", sa.Integer(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("project_id", sa.String(length=200), nullable=True),
        sa.Column("resource_type", sa.String(length=32), nullable=False),
        sa.Column("resource_id", sa.String(length=200), nullable=False),
        sa.Column("correlation_id", sa.String(length=200), nullable=False),
        sa.Column("causation_id", sa.String(length=200), nullable=True),
        sa.Column("privacy", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_log"),
        sa.UniqueConstraint("event_id", name="uq_audit_log_event_id"),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_actor", ["actor", "seq"], unique=False)
        batch_op.create_index("ix_audit_log_project", ["project_id", "seq"], unique=False)
        batch_op.create_index(
            "ix_audit_log_resource", ["resource_type", "resource_id", "seq"], unique=False
        )
        batch_op.create_index("ix_audit_log_type", ["event_type", "seq"], unique=False)
        batch_op.create_index("ix_audit_log_correlation", ["correlation_id", "seq"], unique=False)
        batch_op.create_index("ix_audit_log_occurred", ["occurred_at"], unique=False)

    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", _SEQ, nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_head"),
        sa.CheckConstraint("id = 1", name="ck_audit_head_single_row"),
    )
    # The one head row exists from the start, so every append only has to lock it.
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": _GENESIS, "updated_at": datetime.now(UTC)}])

    op.create_table(
        "audit_checkpoints",
        sa.Column("seq", _SEQ, autoincrement=False, nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("signature", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_checkpoints"),
    )
    op.create_table(
        "audit_refs",
        sa.Column("ref_type", sa.String(length=32), nullable=False),
        sa.Column("ref_id", sa.String(length=200), nullable=False),
        sa.Column("seq", _SEQ, autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("ref_type", "ref_id", "seq", name="pk_audit_refs"),
    )


def downgrade() -> None:
    op.drop_table("audit_refs")
    op.drop_table("audit_checkpoints")
    op.drop_table("audit_head")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        for name in (
            "ix_audit_log_occurred",
            "ix_audit_log_correlation",
            "ix_audit_log_type",
            "ix_audit_log_resource",
            "ix_audit_log_project",
            "ix_audit_log_actor",
        ):
            batch_op.drop_index(name)
    op.drop_table("audit_log")
