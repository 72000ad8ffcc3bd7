"""Datasets (uploaded tables) and their privacy-budget ledger."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ConfigDict, Field

from sds_common.tables import ColumnFormat
from sds_gateway.domain.status import DatasetStatus
from sds_gateway.schemas.common import (
    EXAMPLE_DATASET,
    EXAMPLE_GENERATOR,
    EXAMPLE_PROJECT,
    EXAMPLE_TIME,
    ErrorInfo,
    JobLink,
    Schema,
)


class Column(Schema):
    """Schema-level facts about one column (no values)."""

    name: str
    kind: str
    missing_fraction: float
    distinct: int
    pii: list[str] = Field(default_factory=list)
    format: ColumnFormat | None = Field(
        default=None,
        description=(
            "how the values were written (downloads are written so); none for older datasets"
        ),
    )


class Dataset(Schema):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "id": EXAMPLE_DATASET,
                    "project_id": EXAMPLE_PROJECT,
                    "name": "admissions",
                    "filename": "admissions.csv",
                    "format": "csv",
                    "size_bytes": 5_242_880,
                    "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                    "status": "ready",
                    "error": None,
                    "n_rows": 48_842,
                    "n_columns": 15,
                    "train_rows": 39_074,
                    "columns": [
                        {
                            "name": "age",
                            "kind": "numeric",
                            "missing_fraction": 0.0,
                            "distinct": 74,
                            "pii": [],
                        }
                    ],
                    "target_column": "income",
                    "created_by": "user_123",
                    "created_at": EXAMPLE_TIME,
                    "updated_at": EXAMPLE_TIME,
                    "job": {
                        "id": EXAMPLE_DATASET,
                        "kind": "dataset",
                        "status": "succeeded",
                        "progress": 1.0,
                        "href": f"/api/v1/jobs/{EXAMPLE_DATASET}",
                        "events": f"/api/v1/jobs/{EXAMPLE_DATASET}/events",
                    },
                }
            ]
        },
    )

    id: str
    project_id: str
    name: str
    filename: str
    format: str
    size_bytes: int
    sha256: str
    source: str | None = Field(
        default=None, description="the owner's data-source label (uploads sharing it share ε)"
    )
    status: DatasetStatus
    error: ErrorInfo | None = None
    n_rows: int | None = None
    n_columns: int | None = None
    train_rows: int | None = Field(default=None, description="rows a model may train on")
    columns: list[Column] | None = None
    target_column: str | None = None
    created_by: str
    created_at: datetime
    updated_at: datetime
    job: JobLink | None = None


class LedgerEntry(Schema):
    """One reservation, spend or release of the budget ledger a dataset charges."""

    entry: str = Field(description="reserved, spent or released")
    dataset_id: str = Field(description="the upload whose training moved the ledger")
    generator_id: str
    epsilon: float
    delta: float
    remaining_epsilon: float | None
    details: dict[str, Any]
    occurred_at: datetime


class BudgetTotals(Schema):
    spent_epsilon: float = Field(description="sum of the epsilon charged by finished trainings")
    reserved_epsilon: float = Field(description="epsilon set aside by trainings still running")
    remaining_epsilon: float = Field(
        description=(
            "what the trainer last reported as left; before the first training, the dataset's "
            "whole budget (SDS_TRAINER_EPSILON_BUDGET)"
        )
    )


class PrivacyBudget(Schema):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "dataset_id": EXAMPLE_DATASET,
                    "ledger": "source:admissions",
                    "explanation": (
                        "Trainings on this dataset charge the privacy budget of the data source "
                        "'admissions' in its project: its owner labelled every upload of that "
                        "population with this source, so they share one budget and a new extract "
                        "of the same people does not reset it."
                    ),
                    "entries": [
                        {
                            "entry": "spent",
                            "dataset_id": EXAMPLE_DATASET,
                            "generator_id": EXAMPLE_GENERATOR,
                            "epsilon": 2.9,
                            "delta": 1e-6,
                            "remaining_epsilon": 7.1,
                            "details": {"accountant": "rdp", "preprocessing_epsilon": 0.3},
                            "occurred_at": EXAMPLE_TIME,
                        }
                    ],
                    "totals": {
                        "spent_epsilon": 2.9,
                        "reserved_epsilon": 0.0,
                        "remaining_epsilon": 7.1,
                    },
                }
            ]
        },
    )

    dataset_id: str
    ledger: str = Field(
        description=(
            "the ledger this dataset charges, within its project: 'source:<label>', "
            "'sha256:<hex>' (uploads of the same bytes) or 'dataset:<id>' (older datasets)"
        )
    )
    explanation: str = Field(description="which uploads share this ledger, and why")
    entries: list[LedgerEntry] = Field(description="every movement of the ledger, oldest first")
    totals: BudgetTotals
