"""Events of the ``datasets`` topic, keyed by dataset id.

``DatasetUploaded`` and ``DatasetProfiled`` are at version 2 (the owner's column overrides and
data source; each column's format, the content hash and the source). Their version-1 models stay
registered and upcast to version 2, so messages written before the change still parse and
consumers subscribe to the latest version only.
"""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from sds_common.events import topics
from sds_common.events.base import Event
from sds_common.tables.formats import ColumnFormat, ColumnOverride

TableFormat = Literal["csv", "tsv", "parquet", "jsonl"]
ColumnKind = Literal["numeric", "categorical", "boolean", "datetime", "identifier", "text"]


class _DatasetEvent(Event):
    topic = topics.DATASETS
    key_field = "dataset_id"


class DatasetUploadedV1(_DatasetEvent):
    """A table was stored in object storage and awaits validation (version 1)."""

    event_type = "DatasetUploaded"
    dataset_id: UUID
    name: str = Field(min_length=1, max_length=200)
    object_key: str
    filename: str
    format: TableFormat
    size_bytes: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    target_column: str | None = Field(
        default=None, description="column that ML-utility scores predict (optional)"
    )

    def upcast(self) -> DatasetUploaded:
        """The same upload at version 2: no overrides, no declared source."""
        return DatasetUploaded(**self.model_dump())


class DatasetUploaded(_DatasetEvent):
    """A table was stored in object storage and awaits validation."""

    event_type = "DatasetUploaded"
    event_version = 2
    dataset_id: UUID
    name: str = Field(min_length=1, max_length=200)
    object_key: str
    filename: str
    format: TableFormat
    size_bytes: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    target_column: str | None = Field(
        default=None, description="column that ML-utility scores predict (optional)"
    )
    source: str | None = Field(
        default=None,
        max_length=200,
        description=(
            "the owner's name for the population this table describes: uploads of one project "
            "with the same source share one privacy budget"
        ),
    )
    column_overrides: dict[str, ColumnOverride] = Field(
        default_factory=dict,
        description="the owner's column kinds and missing-value markers, over inferred ones",
    )


class ColumnSummaryV1(BaseModel):
    """Schema-level facts about one column (no values), as version 1 carried them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    kind: ColumnKind
    missing_fraction: float = Field(ge=0.0, le=1.0)
    distinct: int = Field(ge=0)
    pii: tuple[str, ...] = ()


class ColumnSummary(ColumnSummaryV1):
    """Schema-level facts about one column (no values), with how its values were written."""

    format: ColumnFormat | None = Field(
        default=None, description="how the values were written; None for version-1 datasets"
    )


class DatasetProfiledV1(_DatasetEvent):
    """The table parsed, passed the limits and was profiled (version 1)."""

    event_type = "DatasetProfiled"
    dataset_id: UUID
    n_rows: int = Field(ge=0)
    n_columns: int = Field(ge=0)
    columns: tuple[ColumnSummaryV1, ...]
    profile_key: str = Field(description="full profile JSON (statistics; not DP, owner-only)")
    table_key: str = Field(description="the parsed, typed table (Parquet), all rows")
    train_key: str = Field(description="rows a model may train on (Parquet)")
    holdout_key: str = Field(description="rows no model ever sees; the evaluator's baseline")
    holdout_rows: int = Field(ge=0)
    target_column: str | None = None

    def upcast(self) -> DatasetProfiled:
        """The same facts at version 2: columns without formats; no hash or source recorded."""
        data = self.model_dump()
        data["columns"] = tuple(ColumnSummary(**c) for c in data["columns"])
        return DatasetProfiled(**data)


class DatasetProfiled(_DatasetEvent):
    """The table parsed, passed the limits and was profiled."""

    event_type = "DatasetProfiled"
    event_version = 2
    dataset_id: UUID
    n_rows: int = Field(ge=0)
    n_columns: int = Field(ge=0)
    columns: tuple[ColumnSummary, ...]
    profile_key: str = Field(description="full profile JSON (statistics; not DP, owner-only)")
    table_key: str = Field(description="the parsed, typed table (Parquet), all rows")
    train_key: str = Field(description="rows a model may train on (Parquet)")
    holdout_key: str = Field(description="rows no model ever sees; the evaluator's baseline")
    holdout_rows: int = Field(ge=0)
    target_column: str | None = None
    sha256: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{64}$",
        description="SHA-256 of the uploaded file: the same bytes share one privacy budget",
    )
    source: str | None = Field(
        default=None, max_length=200, description="the owner's population name (see upload)"
    )


class DatasetRejected(_DatasetEvent):
    """The table could not be accepted; ``message`` says where and why."""

    event_type = "DatasetRejected"
    dataset_id: UUID
    code: str
    message: str
    row: int | None = None
    column: str | None = None


class DatasetDeleted(_DatasetEvent):
    """A dataset and its objects were deleted."""

    event_type = "DatasetDeleted"
    dataset_id: UUID
    reason: str = "user request"
