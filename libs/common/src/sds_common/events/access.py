"""Events of the ``access`` topic, reported by the gateway, keyed by the user they are about.

None carries a secret, a signature, a token or an email address: the audit log that records them
is append-only, and an account's deletion must not leave its personal data there.
"""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import Field

from sds_common.events import topics
from sds_common.events.base import Event


class _AccessEvent(Event):
    topic = topics.ACCESS
    key_field = "user_id"


class AuthenticationFailed(_AccessEvent):
    """A request was refused before reaching a handler. Never carries a secret or signature."""

    event_type = "AuthenticationFailed"
    user_id: str = Field(default="anonymous", max_length=200)
    reason: str
    method: str
    path: str
    client: str | None = None


class SyntheticDataDownloaded(_AccessEvent):
    event_type = "SyntheticDataDownloaded"
    user_id: str
    synthetic_dataset_id: UUID
    format: str


class ApiKeyCreated(_AccessEvent):
    """A user created an API key for one project (the key itself is never in an event)."""

    event_type = "ApiKeyCreated"
    user_id: str = Field(max_length=200)
    api_key_id: UUID
    project_id: UUID
    access: Literal["read", "write"]
    prefix: str = Field(max_length=16, description="the key's public prefix, to recognise it")


class ApiKeyRevoked(_AccessEvent):
    """An API key stopped working (revoked by its owner, or with its owner's account)."""

    event_type = "ApiKeyRevoked"
    user_id: str = Field(max_length=200)
    api_key_id: UUID
    project_id: UUID


class ProjectMembershipChanged(_AccessEvent):
    """A user was added to a project, given another role in it, or removed from it."""

    event_type = "ProjectMembershipChanged"
    user_id: str = Field(max_length=200, description="the member whose access changed")
    project_id: UUID
    role: Literal["owner", "editor", "viewer"] | None = Field(
        description="the new role; null when the member was removed"
    )
    previous_role: Literal["owner", "editor", "viewer"] | None = None


class AccountDeleted(_AccessEvent):
    """A user deleted their account: what was erased (ids and counts, no personal data)."""

    event_type = "AccountDeleted"
    user_id: str = Field(max_length=200)
    projects_deleted: tuple[UUID, ...] = Field(
        default=(), description="projects the user owned alone, deleted with their datasets"
    )
    datasets_deleted: tuple[UUID, ...] = ()
    memberships_removed: int = Field(ge=0)
    api_keys_revoked: int = Field(ge=0)
    storage_prefixes: tuple[str, ...] = Field(
        default=(), description="object-storage key prefixes removed after the commit"
    )
