"""The schema review: a dataset's inferred schema, the proposal, and the declaration in force."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from sds_common.tables.formats import ColumnFormat
from sds_common.tables.public_metadata import DeclaredColumn, SchemaProposal
from sds_gateway.schemas.common import Schema

HOW_TO_ACCEPT = (
    "PUT /api/v1/datasets/{id}/public-metadata with the columns to declare (all, or some), each "
    "as proposed, or with wider bounds, or with categories left out or added; each value declared "
    "costs no ε and the privacy report names who declared it and when "
    "(CLI: sds schema DATASET --accept [COLUMN])"
)


class SchemaColumn(Schema):
    """One column as profiled: kind, how it was written, missing share, personal-data flags."""

    name: str
    kind: str
    format: ColumnFormat | None = None
    missing_fraction: float
    distinct: int
    pii: list[str] = Field(default_factory=list)
    target: bool = False


class DeclarationOut(Schema):
    """The public metadata declared for a dataset (the latest declaration is in force)."""

    dataset_id: str
    version: int = Field(description="1 for the first declaration; trainings name the one used")
    declared_by: str
    declared_at: datetime
    columns: dict[str, DeclaredColumn]
    target_classes_public: bool


class DatasetSchema(Schema):
    """``GET /datasets/{id}/schema``: the inferred schema, the proposal and what is declared."""

    dataset_id: str
    n_rows: int | None
    target_column: str | None
    columns: list[SchemaColumn]
    proposal: SchemaProposal = Field(
        description="what could be declared public metadata (computed from the rows, not DP)"
    )
    declaration: DeclarationOut | None = Field(
        description="the declaration in force (null: nothing declared, all found under DP)"
    )
    how_to_accept: str = HOW_TO_ACCEPT
