"""The outbox and inbox tables every service owns next to its domain tables."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    func,
)

_BIGINT = BigInteger().with_variant(Integer(), "sqlite")


@dataclass(frozen=True)
class MessagingTables:
    """Handles on the two tables added to a service's metadata."""

    outbox: Table
    inbox: Table


def add_messaging_tables(metadata: MetaData) -> MessagingTables:
    """Add ``outbox`` and ``inbox`` to a service's metadata (once) and return them.

    ``outbox`` holds messages written in the same transaction as the state change that caused
    them; the relay publishes them in id order and deletes them. ``inbox`` records which
    (handler, event id) pairs a consumer has already applied, which makes redelivery harmless.
    """
    if "outbox" in metadata.tables:
        return MessagingTables(metadata.tables["outbox"], metadata.tables["inbox"])
    outbox = Table(
        "outbox",
        metadata,
        Column("id", _BIGINT, primary_key=True, autoincrement=True),
        Column("topic", String(255), nullable=False),
        Column("key", String(255), nullable=True),
        Column("headers", JSON, nullable=False),
        Column("body", LargeBinary, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    inbox = Table(
        "inbox",
        metadata,
        Column("handler", String(255), nullable=False),
        Column("event_id", String(64), nullable=False),
        Column("outcome", String(32), nullable=False),
        Column("handled_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        PrimaryKeyConstraint("handler", "event_id", name="pk_inbox"),
    )
    return MessagingTables(outbox, inbox)
