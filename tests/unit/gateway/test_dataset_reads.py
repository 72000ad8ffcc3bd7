"""``GET /datasets/{id}`` on its fast path (one inline read for the identity, one for the row, its
job and the caller's role): it opens no database session, and every change of access counts on
the very next request, because nothing about access is cached."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event

from tests.unit.gateway.harness import ALICE, BOB, CAROL, Harness, running_gateway


def _count_engine_statements(gw: Harness) -> list[str]:
    """Statements that go through the service's async engine (aiosqlite) from now on."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(gw.service.database.engine.sync_engine, "before_cursor_execute", record)
    return seen


async def test_a_known_user_reading_a_dataset_opens_no_session(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        project_id = await gw.create_project()
        dataset_id = await gw.ready_dataset(project_id)
        assert gw.service.database.inline is not None
        await gw.service.database.engine.dispose()  # nothing pooled left over from the setup
        statements = _count_engine_statements(gw)
        for _ in range(3):
            answer = await gw.call("GET", f"/api/v1/datasets/{dataset_id}")
            assert answer.status_code == 200, answer.text
        body = answer.json()
        assert (body["id"], body["project_id"], body["status"]) == (dataset_id, project_id, "ready")
        assert body["job"]["kind"] == "dataset"
        assert [c["name"] for c in body["columns"]] == ["a", "b"]
        # Background pollers may still run their (now inline) checks; the GETs sent nothing.
        assert [s for s in statements if "datasets" in s or "users" in s] == []


async def test_the_answer_is_the_same_without_inline_reads(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        project_id = await gw.create_project()
        dataset_id = await gw.ready_dataset(project_id)
        inline = await gw.call("GET", f"/api/v1/datasets/{dataset_id}")
        database = gw.service.database
        reader, database.inline = database.inline, None
        try:
            statements = _count_engine_statements(gw)
            through_engine = await gw.call("GET", f"/api/v1/datasets/{dataset_id}")
            outsider = await gw.call("GET", f"/api/v1/datasets/{dataset_id}", user=BOB)
        finally:
            database.inline = reader
        assert inline.status_code == through_engine.status_code == 200
        assert inline.json() == through_engine.json()
        assert outsider.status_code == 404
        assert any("datasets" in s for s in statements)


async def test_revoking_access_counts_on_the_next_request(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        project_id = await gw.create_project()
        dataset_id = await gw.ready_dataset(project_id)
        path = f"/api/v1/datasets/{dataset_id}"
        members = f"/api/v1/projects/{project_id}/members"
        assert (await gw.call("GET", path, user=BOB)).status_code == 404  # not a member
        await gw.add_member(project_id, BOB, role="viewer")
        assert (await gw.call("GET", path, user=BOB)).status_code == 200
        # A role change counts at once, in both directions.
        assert (await gw.call("DELETE", path, user=BOB)).status_code == 403
        changed = await gw.call("PATCH", f"{members}/bob", json={"role": "editor"})
        assert changed.status_code == 200, changed.text
        assert (await gw.call("GET", path, user=BOB)).status_code == 200
        removed = await gw.call("DELETE", f"{members}/bob")
        assert removed.status_code == 204
        assert (await gw.call("GET", path, user=BOB)).status_code == 404
        # A deleted project hides its datasets from everyone, its owner included.
        await gw.add_member(project_id, CAROL, role="viewer")
        assert (await gw.call("GET", path, user=CAROL)).status_code == 200
        deleted = await gw.call("DELETE", f"/api/v1/projects/{project_id}")
        assert deleted.status_code == 204, deleted.text
        assert (await gw.call("GET", path, user=CAROL)).status_code == 404
        assert (await gw.call("GET", path, user=ALICE)).status_code == 404


async def test_a_deleted_dataset_and_a_deleted_account_count_on_the_next_request(
    tmp_path: Path,
) -> None:
    async with running_gateway(tmp_path) as gw:
        project_id = await gw.create_project()
        first = await gw.ready_dataset(project_id)
        second = await gw.ready_dataset(project_id)
        assert (await gw.call("GET", f"/api/v1/datasets/{first}")).json()["status"] == "ready"
        assert (await gw.call("DELETE", f"/api/v1/datasets/{first}")).status_code == 204
        after = await gw.call("GET", f"/api/v1/datasets/{first}")
        assert (after.status_code, after.json()["status"]) == (200, "deleted")
        assert (await gw.call("GET", f"/api/v1/datasets/{second}")).status_code == 200
        assert (await gw.call("DELETE", "/api/v1/me")).status_code == 200
        # Signing in again makes Alice a new user with no project: the dataset is gone for her.
        assert (await gw.call("GET", f"/api/v1/datasets/{second}")).status_code == 404


async def test_an_api_key_reads_only_inside_its_project(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        inside = await gw.create_project("inside")
        outside = await gw.create_project("outside")
        readable = await gw.ready_dataset(inside)
        hidden = await gw.ready_dataset(outside)
        key_id, token = await gw.api_key(inside, access="read")
        assert (
            await gw.call("GET", f"/api/v1/datasets/{readable}", api_key=token)
        ).status_code == 200
        assert (
            await gw.call("GET", f"/api/v1/datasets/{hidden}", api_key=token)
        ).status_code == 404
        assert (await gw.call("DELETE", f"/api/v1/api-keys/{key_id}")).status_code == 204
        revoked = await gw.call("GET", f"/api/v1/datasets/{readable}", api_key=token)
        assert revoked.status_code == 401
