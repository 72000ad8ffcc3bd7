"""The table of declared public metadata (added to the gateway's metadata by ``adapters.orm``).

Migration ``0003_declarations`` creates it. One row per declaration of a dataset, numbered from 1:
the gateway writes a row and emits ``PublicMetadataDeclared`` in one transaction, and a training
request names the latest number (the trainer uses exactly that declaration). ``created_by`` is
the declarer: the account export finds the rows by it, like every table with that column.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Integer, MetaData, String, Table


def add_declaration_tables(metadata: MetaData) -> Table:
    """Add ``public_metadata_declarations`` to ``metadata``; return the table."""
    return Table(
        "public_metadata_declarations",
        metadata,
        Column(
            "dataset_id",
            String(36),
            ForeignKey("datasets.id", name="fk_public_metadata_declarations_dataset"),
            primary_key=True,
        ),
        Column("version", Integer, primary_key=True),
        Column("project_id", String(36), nullable=False),
        Column("declaration", JSON, nullable=False),
        Column("created_by", String(200), nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
    )
