"""The gateway's access events in the audit log: who did it, to whom, in which project.

Every access event is keyed by the user it is about: that user is its resource (so
``resource_type=user&resource_id=...`` lists everything that changed someone's access), the actor
is who made the change (an owner adding a member, a user revoking their key), and the project is
the envelope's. No record holds a secret, a token or an email address.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from sds_audit.domain.records import entry_of
from sds_common.events import (
    AccountDeleted,
    ApiKeyCreated,
    ApiKeyRevoked,
    Envelope,
    Event,
    ProjectMembershipChanged,
)
from tests.unit.audit.harness import running_audit

PROJECT = uuid.UUID("6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b")
KEY = uuid.UUID("0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d")


def _access_events() -> list[tuple[Event, dict[str, Any]]]:
    """The four events as the gateway emits them (payload, and how it wraps them)."""
    in_project = {"project_id": str(PROJECT)}
    return [
        (
            ProjectMembershipChanged(user_id="bob", project_id=PROJECT, role="viewer"),
            {"actor": "alice", **in_project},
        ),
        (
            ApiKeyCreated(
                user_id="bob", api_key_id=KEY, project_id=PROJECT, access="read", prefix="sds_ab12"
            ),
            {"actor": "bob", **in_project},
        ),
        (
            ApiKeyRevoked(user_id="bob", api_key_id=KEY, project_id=PROJECT),
            {"actor": "bob", **in_project},
        ),
        (
            AccountDeleted(user_id="bob", memberships_removed=1, api_keys_revoked=0),
            {"actor": "bob"},
        ),
    ]


def test_access_events_name_the_actor_the_user_and_the_project() -> None:
    entries = [entry_of(Envelope.wrap(event, **wrap), event) for event, wrap in _access_events()]
    assert [(e.event_type, e.actor, e.resource_type, e.resource_id) for e in entries] == [
        ("ProjectMembershipChanged", "alice", "user", "bob"),
        ("ApiKeyCreated", "bob", "user", "bob"),
        ("ApiKeyRevoked", "bob", "user", "bob"),
        ("AccountDeleted", "bob", "user", "bob"),
    ]
    assert [e.project_id for e in entries] == [str(PROJECT)] * 3 + [None]
    assert all(e.refs == (("user", "bob"),) for e in entries)
    assert all(e.privacy is None for e in entries)  # access is not a privacy-budget decision
    membership, created, revoked, deleted = (e.payload for e in entries)
    assert (membership["role"], membership["previous_role"]) == ("viewer", None)
    assert (created["api_key_id"], created["access"], created["prefix"]) == (
        str(KEY),
        "read",
        "sds_ab12",
    )
    assert revoked["api_key_id"] == str(KEY)
    assert (deleted["memberships_removed"], deleted["api_keys_revoked"]) == (1, 0)
    for entry in entries:
        text = str(entry.payload).lower()
        leaked = [word for word in ("secret", "token", "@") if word in text]
        assert leaked == [], entry.event_type


async def test_the_log_lists_a_users_access_history(tmp_path: Path) -> None:
    async with running_audit(tmp_path) as audit:
        for n, (event, wrap) in enumerate(_access_events(), start=1):
            await audit.publish(event, **wrap)
            await audit.until_count(n)  # one at a time: the log's order is this order
        response = await audit.call(
            "GET", "/api/v1/audit/events", params={"resource_type": "user", "resource_id": "bob"}
        )
        assert response.status_code == 200, response.text
        records = response.json()["items"]
        assert [(r["event_type"], r["actor"]) for r in records] == [
            ("ProjectMembershipChanged", "alice"),
            ("ApiKeyCreated", "bob"),
            ("ApiKeyRevoked", "bob"),
            ("AccountDeleted", "bob"),
        ]
        by_owner = await audit.call("GET", "/api/v1/audit/events", params={"actor": "alice"})
        assert [r["event_type"] for r in by_owner.json()["items"]] == ["ProjectMembershipChanged"]
        verified = await audit.call("GET", "/api/v1/audit/verify")
        assert verified.status_code == 200
        assert verified.json()["ok"] is True
