"""API keys: shown once, stored hashed, scoped to one project and to read or write, revocable."""

import hashlib
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update

from sds_common.events import Envelope
from sds_common.telemetry import scrub_text
from sds_gateway.adapters.orm import api_keys
from sds_gateway.domain import api_keys as keys
from tests.unit.gateway.harness import CAROL, Harness, running_gateway

KEYS = "/api/v1/api-keys"


async def _relayed(gw: Harness, event_type: str, count: int) -> list[Envelope]:
    topic = gw.settings.topic("access")

    async def arrived() -> bool:
        return len(gw.emitted(topic, event_type)) >= count

    await gw.until(arrived)
    return gw.emitted(topic, event_type)


async def _row(gw: Harness, key_id: str) -> dict[str, object]:
    async with gw.service.database.sessions() as session:
        row = (await session.execute(select(api_keys).where(api_keys.c.id == key_id))).mappings()
        return dict(row.one())


async def test_a_key_is_shown_once_and_stored_only_as_a_hash(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        project_id = await gw.create_project()
        created = await gw.call(
            "POST", KEYS, json={"name": "ci", "project_id": project_id, "access": "read"}
        )
        assert created.status_code == 201, created.text
        body = created.json()
        token = body["token"]
        assert token.startswith(f"sds_{body['prefix']}_")
        assert keys.parse(token) == body["prefix"]
        row = await _row(gw, body["id"])
        assert row["secret_hash"] == hashlib.sha256(token.encode()).hexdigest()
        assert token not in str(row)
        listed = (await gw.call("GET", KEYS)).json()["items"]
        assert [k["id"] for k in listed] == [body["id"]]
        assert "token" not in listed[0]
        assert token not in (await gw.call("GET", KEYS)).text
        events = await _relayed(gw, "ApiKeyCreated", 1)
        assert [e.payload["api_key_id"] for e in events] == [body["id"]]
        assert token not in events[0].to_bytes().decode()


async def test_read_keys_read_and_write_keys_write_within_their_project(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        project_id = await gw.create_project()
        _, reader = await gw.api_key(project_id, access="read")
        _, writer = await gw.api_key(project_id, access="write")
        seen = await gw.call("GET", f"/api/v1/projects/{project_id}", api_key=reader)
        assert seen.status_code == 200, seen.text
        assert seen.json()["role"] == "viewer"  # the owner's key acts as a viewer
        refused = await gw.call(
            "PATCH", f"/api/v1/projects/{project_id}", api_key=reader, json={"name": "renamed"}
        )
        assert refused.status_code == 403, refused.text
        assert refused.json()["code"] == "api_key_scope"
        assert "read access" in refused.json()["detail"]
        upload = await gw.upload(project_id)
        assert upload.status_code == 202
        read_upload = await gw.call(
            "POST",
            "/api/v1/datasets",
            api_key=reader,
            data={"project_id": project_id},
            files={"file": ("t.csv", b"a,b\n1,2\n", "text/csv")},
        )
        assert read_upload.status_code == 403, read_upload.text
        written = await gw.call(
            "POST",
            "/api/v1/datasets",
            api_key=writer,
            data={"project_id": project_id},
            files={"file": ("t.csv", b"a,b\n1,2\n", "text/csv")},
        )
        assert written.status_code == 202, written.text
        assert written.json()["created_by"] == "alice"  # the key acts as its creator
        # A write key is at most an editor: it never manages the project.
        deleted = await gw.call("DELETE", f"/api/v1/projects/{project_id}", api_key=writer)
        assert deleted.status_code == 403, deleted.text
        for method, path in (
            ("POST", "/api/v1/projects"),
            ("GET", KEYS),
            ("GET", "/api/v1/me/export"),
        ):
            answer = await gw.call(
                method, path, api_key=writer, json={"name": "x"} if method == "POST" else None
            )
            assert answer.status_code == 403, (path, answer.text)
            assert answer.json()["code"] == "api_key_not_allowed"


async def test_a_key_is_limited_by_its_creators_membership(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        project_id = await gw.create_project()
        await gw.add_member(project_id, CAROL, role="editor")
        _, carols = await gw.api_key(project_id, access="write", user=CAROL)
        members = f"/api/v1/projects/{project_id}/members/{CAROL[0]}"
        demoted = await gw.call("PATCH", members, json={"role": "viewer"})
        assert demoted.status_code == 200, demoted.text
        renamed = await gw.call(
            "PATCH", f"/api/v1/projects/{project_id}", api_key=carols, json={"name": "x"}
        )
        assert renamed.status_code == 403, renamed.text
        assert "viewer role" in renamed.json()["detail"]
        removed = await gw.call("DELETE", members)
        assert removed.status_code == 204, removed.text
        gone = await gw.call("GET", f"/api/v1/projects/{project_id}", api_key=carols)
        assert gone.status_code == 404, gone.text


async def test_a_viewer_cannot_mint_a_write_key(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        project_id = await gw.create_project()
        await gw.add_member(project_id, CAROL, role="viewer")
        body = {"name": "x", "project_id": project_id, "access": "write"}
        refused = await gw.call("POST", KEYS, user=CAROL, json=body)
        assert refused.status_code == 403, refused.text
        allowed = await gw.call("POST", KEYS, user=CAROL, json={**body, "access": "read"})
        assert allowed.status_code == 201, allowed.text


async def test_revoked_unknown_and_malformed_keys_are_401(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        project_id = await gw.create_project()
        key_id, token = await gw.api_key(project_id)
        path = f"/api/v1/projects/{project_id}"
        assert (await gw.call("GET", path, api_key=token)).status_code == 200
        revoked = await gw.call("DELETE", f"{KEYS}/{key_id}")
        assert revoked.status_code == 204, revoked.text
        assert (await gw.call("DELETE", f"{KEYS}/{key_id}")).status_code == 204  # idempotent
        prefix = keys.parse(token)
        assert prefix is not None
        guessed = f"sds_{prefix}_" + "A" * 43  # right prefix, wrong secret
        for bad in (token, guessed, "sds_nothing", token[:-1]):
            answer = await gw.call("GET", path, api_key=bad)
            assert answer.status_code == 401, (bad, answer.text)
        listed = (await gw.call("GET", KEYS)).json()["items"]
        assert listed[0]["revoked_at"] is not None
        events = await _relayed(gw, "ApiKeyRevoked", 1)
        assert [e.payload["api_key_id"] for e in events] == [key_id]
        other = await gw.call("DELETE", f"{KEYS}/{key_id}", user=CAROL)
        assert other.status_code == 404  # someone else's key does not exist for you


async def test_last_use_is_recorded_at_most_once_a_minute(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        project_id = await gw.create_project()
        key_id, token = await gw.api_key(project_id)
        assert (await _row(gw, key_id))["last_used_at"] is None
        path = f"/api/v1/projects/{project_id}"
        assert (await gw.call("GET", path, api_key=token)).status_code == 200
        first = (await _row(gw, key_id))["last_used_at"]
        assert first is not None
        assert (await gw.call("GET", path, api_key=token)).status_code == 200
        assert (await _row(gw, key_id))["last_used_at"] == first
        async with gw.service.database.sessions() as session, session.begin():
            await session.execute(
                update(api_keys)
                .where(api_keys.c.id == key_id)
                .values(last_used_at=first - timedelta(minutes=2))  # type: ignore[operator]
            )
        assert (await gw.call("GET", path, api_key=token)).status_code == 200
        assert (await _row(gw, key_id))["last_used_at"] > first  # type: ignore[operator]
        listed = (await gw.call("GET", KEYS)).json()["items"]
        assert listed[0]["last_used_at"] is not None


def test_a_token_in_a_log_line_keeps_only_its_prefix() -> None:
    minted = keys.mint()
    line = scrub_text(f"client sent {minted.token} to postgresql://u:pw@db/x")
    assert line == f"client sent sds_{minted.prefix}_[redacted] to postgresql://u:[redacted]@db/x"
