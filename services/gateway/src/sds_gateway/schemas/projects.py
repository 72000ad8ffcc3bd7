"""Projects: the unit of ownership and sharing."""

from __future__ import annotations

from datetime import datetime

from pydantic import ConfigDict, Field

from sds_gateway.domain.access import ProjectRole
from sds_gateway.schemas.common import EXAMPLE_PROJECT, EXAMPLE_TIME, RequestBody, Schema


class ProjectCreate(RequestBody):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "Hospital admissions", "description": "2024 cohort"}]
        },
    )

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)


class ProjectUpdate(RequestBody):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"description": "2024 and 2025 cohorts"}]}
    )

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)


class Project(Schema):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "id": EXAMPLE_PROJECT,
                    "name": "Hospital admissions",
                    "description": "2024 cohort",
                    "role": "owner",
                    "created_by": "user_123",
                    "created_at": EXAMPLE_TIME,
                    "updated_at": EXAMPLE_TIME,
                }
            ]
        },
    )

    id: str
    name: str
    description: str
    role: ProjectRole = Field(description="the caller's role in the project")
    created_by: str
    created_at: datetime
    updated_at: datetime
