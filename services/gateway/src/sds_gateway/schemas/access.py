"""API keys, project members and the caller's own data (export, deletion)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Self

from pydantic import ConfigDict, Field, model_validator

from sds_common.auth import KeyAccess
from sds_gateway.domain.access import ProjectRole
from sds_gateway.schemas.common import EXAMPLE_PROJECT, EXAMPLE_TIME, Schema

EXAMPLE_KEY = "5c0e9b1a-3d2f-4e7a-9b8c-1d2e3f4a5b6c"


class ApiKeyCreate(Schema):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "CI pipeline", "project_id": EXAMPLE_PROJECT, "access": "read"}]
        },
    )

    name: str = Field(min_length=1, max_length=200, description="what the key is for")
    project_id: str = Field(description="the one project the key can reach")
    access: KeyAccess = Field(
        default=KeyAccess.READ,
        description="read: acts as a viewer; write: at most as an editor (never manages)",
    )


class ApiKey(Schema):
    """An API key as its owner sees it (never its secret)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "id": EXAMPLE_KEY,
                    "name": "CI pipeline",
                    "prefix": "3f9a0c2b7d1e",
                    "project_id": EXAMPLE_PROJECT,
                    "access": "read",
                    "created_at": EXAMPLE_TIME,
                    "last_used_at": None,
                    "revoked_at": None,
                }
            ]
        },
    )

    id: str
    name: str
    prefix: str = Field(description="the key's public part: its token starts sds_<prefix>_")
    project_id: str
    access: KeyAccess
    created_at: datetime
    last_used_at: datetime | None = Field(
        default=None, description="last use, recorded at most once a minute"
    )
    revoked_at: datetime | None = None


class ApiKeyCreated(ApiKey):
    """A new key with its token: shown this once, never stored (only its SHA-256 is)."""

    token: str = Field(description="send as `Authorization: Bearer <token>`")


class MemberAdd(Schema):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"user_id": "user_456", "role": "editor"}]},
    )

    user_id: str | None = Field(
        default=None, min_length=1, max_length=200, description="a user who has signed in"
    )
    email: str | None = Field(
        default=None,
        min_length=3,
        max_length=320,
        pattern=r"^[^@\s]+@[^@\s]+$",
        description="or the email address they signed in with",
    )
    role: ProjectRole = ProjectRole.VIEWER

    @model_validator(mode="after")
    def _one_way_to_name_the_user(self) -> Self:
        if (self.user_id is None) == (self.email is None):
            raise ValueError("name the user by exactly one of 'user_id' and 'email'")
        return self


class MemberUpdate(Schema):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"role": "viewer"}]})

    role: ProjectRole


class Member(Schema):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "user_id": "user_456",
                    "email": "carol@example.com",
                    "role": "editor",
                    "created_at": EXAMPLE_TIME,
                }
            ]
        },
    )

    user_id: str
    email: str | None = Field(description="null for a member not seen since their last sign-in")
    role: ProjectRole
    created_at: datetime


class AccountExport(Schema):
    """Everything the gateway holds about the caller, as stored (``GET /me/export``)."""

    format_version: int = 1
    exported_at: datetime
    user: dict[str, Any] | None = Field(description="the user record (id, email, role, times)")
    memberships: list[dict[str, Any]] = Field(description="the caller's project memberships")
    api_keys: list[dict[str, Any]] = Field(description="the caller's API keys (no hashes)")
    created: dict[str, list[dict[str, Any]]] = Field(
        description="every row the caller created (projects, datasets, generators, synthetic "
        "datasets, webhooks ...), by table"
    )
    related: dict[str, list[dict[str, Any]]] = Field(
        description="rows about what the caller created: evaluations of their synthetic "
        "datasets, privacy-budget entries of their datasets"
    )
    held_elsewhere: list[str] = Field(
        description="what other parts of the system keep, and how to reach it"
    )


class AccountDeletion(Schema):
    """What ``DELETE /me`` erased."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "user_id": "user_123",
                    "projects_deleted": [EXAMPLE_PROJECT],
                    "datasets_deleted": 2,
                    "memberships_removed": 3,
                    "api_keys_revoked": 1,
                    "objects_deleted": 9,
                }
            ]
        },
    )

    user_id: str
    projects_deleted: list[str] = Field(description="projects you owned alone")
    datasets_deleted: int
    memberships_removed: int
    api_keys_revoked: int
    objects_deleted: int = Field(description="objects removed from storage")
