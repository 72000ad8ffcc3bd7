"""Generators (trained models), synthetic datasets and evaluations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ConfigDict, Field, JsonValue

from sds_common.events.privacy import PrivacySpec
from sds_common.methods import DEFAULT_METHOD
from sds_gateway.domain.status import RunStatus
from sds_gateway.schemas.common import (
    EXAMPLE_DATASET,
    EXAMPLE_GENERATOR,
    EXAMPLE_PROJECT,
    EXAMPLE_SYNTHETIC,
    EXAMPLE_TIME,
    ErrorInfo,
    JobLink,
    RequestBody,
    Schema,
)

_GEN_JOB: dict[str, Any] = {
    "id": EXAMPLE_GENERATOR,
    "kind": "training",
    "status": "running",
    "progress": 0.4,
    "href": f"/api/v1/jobs/{EXAMPLE_GENERATOR}",
    "events": f"/api/v1/jobs/{EXAMPLE_GENERATOR}/events",
}


class GeneratorCreate(RequestBody):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "dataset_id": EXAMPLE_DATASET,
                    "method": "dp-ctgan",
                    "params": {"epochs": 50, "batch_size": 500},
                    "privacy": {"epsilon": 3.0, "delta": 1e-6, "accountant": "rdp"},
                }
            ]
        },
    )

    dataset_id: str = Field(min_length=1, max_length=36)
    method: str = Field(default=DEFAULT_METHOD, max_length=64)
    params: dict[str, JsonValue] = Field(default_factory=dict, max_length=64)
    privacy: PrivacySpec | None = Field(
        default=None, description="required for DP methods; refused for non-DP ones"
    )
    allow_non_dp: bool = Field(
        default=False, description="must be true to train a method without a DP guarantee"
    )


class Generator(Schema):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "id": EXAMPLE_GENERATOR,
                    "project_id": EXAMPLE_PROJECT,
                    "dataset_id": EXAMPLE_DATASET,
                    "method": "dp-ctgan",
                    "params": {"epochs": 50},
                    "privacy": {"epsilon": 3.0, "delta": 1e-6, "accountant": "rdp"},
                    "status": "running",
                    "epoch": 20,
                    "total_epochs": 50,
                    "epsilon_spent": 1.2,
                    "losses": {"generator": 0.71, "discriminator": -0.12},
                    "created_by": "user_123",
                    "created_at": EXAMPLE_TIME,
                    "updated_at": EXAMPLE_TIME,
                    "job": _GEN_JOB,
                }
            ]
        },
    )

    id: str
    project_id: str
    dataset_id: str
    method: str
    params: dict[str, Any]
    privacy: dict[str, Any] | None
    status: RunStatus
    device: str | None = None
    epoch: int | None = None
    total_epochs: int | None = None
    epsilon_spent: float | None = None
    losses: dict[str, float] | None = None
    epsilon: float | None = Field(default=None, description="final epsilon spent (trained)")
    delta: float | None = None
    error: ErrorInfo | None = None
    created_by: str
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    cancel_requested_at: datetime | None = None
    job: JobLink | None = None


class SampleCreate(RequestBody):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"rows": 10_000, "seed": 42}]}
    )

    rows: int | None = Field(
        default=None, ge=1, le=10_000_000, description="default: the uploaded table's rows"
    )
    seed: int | None = Field(default=None, ge=0, le=2**63 - 1)
    conditions: dict[str, JsonValue] = Field(default_factory=dict, max_length=32)


class SyntheticDataset(Schema):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "id": EXAMPLE_SYNTHETIC,
                    "project_id": EXAMPLE_PROJECT,
                    "generator_id": EXAMPLE_GENERATOR,
                    "dataset_id": EXAMPLE_DATASET,
                    "rows_requested": 10_000,
                    "rows": 10_000,
                    "seed": 42,
                    "status": "succeeded",
                    "evaluation_id": "1e7a3c5b-9d2f-5b4e-8a6c-0f1e2d3c4b5a",
                    "created_at": EXAMPLE_TIME,
                    "updated_at": EXAMPLE_TIME,
                    "download": {
                        "csv": (
                            f"/api/v1/synthetic-datasets/{EXAMPLE_SYNTHETIC}/download?format=csv"
                        ),
                        "parquet": (
                            f"/api/v1/synthetic-datasets/{EXAMPLE_SYNTHETIC}/download"
                            "?format=parquet"
                        ),
                    },
                }
            ]
        },
    )

    id: str
    project_id: str
    generator_id: str
    dataset_id: str
    rows_requested: int
    rows: int | None = None
    seed: int | None = None
    conditions: dict[str, Any] = Field(default_factory=dict)
    status: RunStatus
    error: ErrorInfo | None = None
    evaluation_id: str = Field(description="the automatic evaluation of this synthetic data")
    created_by: str | None = None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None = None
    download: dict[str, str] | None = Field(default=None, description="links once generated")
    job: JobLink | None = None


class EvaluationCreate(RequestBody):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"synthetic_dataset_id": EXAMPLE_SYNTHETIC, "target_column": "income"}]
        },
    )

    synthetic_dataset_id: str = Field(min_length=1, max_length=36)
    target_column: str | None = Field(default=None, max_length=255)


class Evaluation(Schema):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "id": "1e7a3c5b-9d2f-5b4e-8a6c-0f1e2d3c4b5a",
                    "project_id": EXAMPLE_PROJECT,
                    "synthetic_dataset_id": EXAMPLE_SYNTHETIC,
                    "generator_id": EXAMPLE_GENERATOR,
                    "automatic": True,
                    "status": "succeeded",
                    "scores": {"fidelity": 0.91, "utility": 0.86, "dcr_privacy": 0.97},
                    "report": "/api/v1/evaluations/1e7a3c5b-9d2f-5b4e-8a6c-0f1e2d3c4b5a/report",
                    "created_at": EXAMPLE_TIME,
                    "updated_at": EXAMPLE_TIME,
                }
            ]
        },
    )

    id: str
    project_id: str
    synthetic_dataset_id: str
    generator_id: str | None = None
    automatic: bool = Field(description="started by the platform for every synthetic dataset")
    target_column: str | None = None
    status: RunStatus
    scores: dict[str, float] | None = None
    error: ErrorInfo | None = None
    report: str | None = Field(default=None, description="HTML report, once completed")
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None = None
    job: JobLink | None = None
