"""Events of the ``datasets`` topic, keyed by dataset id."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from sds_common.events import topics
from sds_common.events.base import Event

TableFormat = Literal["csv", "tsv", "parquet", "jsonl"]
ColumnKind = Literal["numeric", "categorical", "boolean", "datetime", "identifier", "text"]


class _DatasetEvent(Event):
    topic = topics.DATASETS
    key_field = "dataset_id"


class DatasetUploaded(_DatasetEvent):
    """A table was stored in object storage and awaits validation."""

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


class ColumnSummary(BaseModel):
    """Schema-level facts about one column (no values)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    kind: ColumnKind
    missing_fraction: float = Field(ge=0.0, le=1.0)
    distinct: int = Field(ge=0)
    pii: tuple[str, ...] = ()


class DatasetProfiled(_DatasetEvent):
    """The table parsed, passed the limits and was profiled."""

    event_type = "DatasetProfiled"
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
