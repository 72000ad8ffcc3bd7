"""Models shared by every resource: pages, job links, errors."""

from __future__ import annotations

from datetime import datetime
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from sds_gateway.domain.status import JobKind, RunStatus

T = TypeVar("T")

EXAMPLE_TIME = "2026-11-25T10:00:00Z"
EXAMPLE_PROJECT = "0b6c2f4e-8a51-4d0c-9d87-5e2f3a1b7c90"
EXAMPLE_DATASET = "3f2b8c1d-7e4a-4b9f-a6d2-1c8e5f0a9b37"
EXAMPLE_GENERATOR = "9a4e7c2b-1d3f-4e8a-b5c6-0f2d9e8a7b61"
EXAMPLE_SYNTHETIC = "6d1a9f3e-2c7b-4a5d-8e0f-b3c4d5e6f708"


class Schema(BaseModel):
    """Base of the API models: unknown request fields are refused, not ignored."""

    model_config = ConfigDict(extra="forbid")


class Page(Schema, Generic[T]):
    """One page of a list, newest first; pass ``next_cursor`` as ``cursor`` for the next."""

    items: list[T]
    next_cursor: str | None = Field(
        default=None, description="cursor of the next page; null on the last page"
    )


class JobLink(Schema):
    """The job that tracks long-running work, and where to follow it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": EXAMPLE_DATASET,
                    "kind": "dataset",
                    "status": "queued",
                    "progress": 0.0,
                    "href": f"/api/v1/jobs/{EXAMPLE_DATASET}",
                    "events": f"/api/v1/jobs/{EXAMPLE_DATASET}/events",
                }
            ]
        }
    )

    id: str
    kind: JobKind
    status: RunStatus
    progress: float = Field(ge=0.0, le=1.0)
    href: str
    events: str = Field(description="Server-Sent Events stream of the job's progress")


class Job(JobLink):
    """A job: its kind, status, progress and last message."""

    message: str | None = None
    project_id: str
    created_at: datetime
    updated_at: datetime


class ErrorInfo(Schema):
    """Why something failed, as the service that failed reported it."""

    code: str
    message: str
    row: int | None = None
    column: str | None = None


def job_link(*, job_id: str, kind: str, status: str, progress: float) -> JobLink:
    """The link to a job, from its row's values."""
    return JobLink(
        id=job_id,
        kind=JobKind(kind),
        status=RunStatus(status),
        progress=progress,
        href=f"/api/v1/jobs/{job_id}",
        events=f"/api/v1/jobs/{job_id}/events",
    )
