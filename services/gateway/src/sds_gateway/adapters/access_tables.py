"""Tables of access control: API keys (added to the gateway's metadata by ``adapters.orm``).

Migration ``0003_access`` creates them. A key row holds the token's prefix and SHA-256, never the
token; a revoked key keeps its row (``revoked_at``) so its owner still sees it in the list.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Index,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)


def add_access_tables(metadata: MetaData) -> Table:
    """Add ``api_keys`` (and an index of ``users`` by email) to ``metadata``; return the table."""
    # Members are added by email too: find the user without a scan.
    Index("ix_users_email", metadata.tables["users"].c.email)
    return Table(
        "api_keys",
        metadata,
        Column("id", String(36), primary_key=True),
        Column("user_id", String(200), nullable=False),
        Column(
            "project_id",
            String(36),
            ForeignKey("projects.id", name="fk_api_keys_project"),
            nullable=False,
        ),
        Column("name", String(200), nullable=False),
        Column("prefix", String(16), nullable=False),
        Column("secret_hash", String(64), nullable=False),
        Column("access", String(8), nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("last_used_at", DateTime(timezone=True), nullable=True),
        Column("revoked_at", DateTime(timezone=True), nullable=True),
        UniqueConstraint("prefix", name="uq_api_keys_prefix"),
        Index("ix_api_keys_user_created", "user_id", "created_at", "id"),
        Index("ix_api_keys_project", "project_id"),
    )
