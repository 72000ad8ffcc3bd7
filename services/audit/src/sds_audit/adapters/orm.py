"""Tables owned by the audit service (no other service reads them).

``audit_log`` is append-only and hash-chained (see ``sds_audit.domain.chain``); ``audit_head`` is
its single-row head, locked by every append so concurrent writers extend the chain one at a time;
``audit_checkpoints`` holds signed heads; ``audit_refs`` indexes every resource id a record names
(derived from the payload, outside the chain) so trails are found without scanning JSON.
"""

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
)

from sds_common.db import add_messaging_tables

metadata = MetaData()
messaging = add_messaging_tables(metadata)

_SEQ = BigInteger().with_variant(Integer(), "sqlite")
HEAD_ROW_ID = 1

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", _SEQ, nullable=False, autoincrement=False),
    Column("event_id", String(36), nullable=False),
    Column("event_type", String(100), nullable=False),
    Column("event_version", Integer, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("project_id", String(200), nullable=True),
    Column("resource_type", String(32), nullable=False),
    Column("resource_id", String(200), nullable=False),
    Column("correlation_id", String(200), nullable=False),
    Column("causation_id", String(200), nullable=True),
    Column("privacy", JSON(none_as_null=True), nullable=True),
    Column("payload", JSON, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    PrimaryKeyConstraint("seq", name="pk_audit_log"),
    UniqueConstraint("event_id", name="uq_audit_log_event_id"),
    Index("ix_audit_log_actor", "actor", "seq"),
    Index("ix_audit_log_project", "project_id", "seq"),
    Index("ix_audit_log_resource", "resource_type", "resource_id", "seq"),
    Index("ix_audit_log_type", "event_type", "seq"),
    Index("ix_audit_log_correlation", "correlation_id", "seq"),
    Index("ix_audit_log_occurred", "occurred_at"),
)

audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, nullable=False, autoincrement=False),
    Column("seq", _SEQ, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("id", name="pk_audit_head"),
    CheckConstraint(f"id = {HEAD_ROW_ID}", name="ck_audit_head_single_row"),
)

audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("seq", _SEQ, nullable=False, autoincrement=False),
    Column("hash", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("reason", String(16), nullable=False),
    Column("signature", String(64), nullable=False),
    PrimaryKeyConstraint("seq", name="pk_audit_checkpoints"),
)

audit_refs = Table(
    "audit_refs",
    metadata,
    Column("ref_type", String(32), nullable=False),
    Column("ref_id", String(200), nullable=False),
    Column("seq", _SEQ, nullable=False, autoincrement=False),
    PrimaryKeyConstraint("ref_type", "ref_id", "seq", name="pk_audit_refs"),
)
