"""Access control on PostgreSQL: keys, members (the owner lock) and account deletion.

The unit tests run the same code on SQLite; this runs it on the distributed database, where
time comparisons are timezone-aware and ``FOR UPDATE`` really locks. Two owners demoting each
other at the same moment must leave the project with one owner, never none.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text, update

from sds_common.db import create_engine
from sds_gateway.adapters.orm import api_keys
from tests.unit.gateway.harness import ALICE, BOB, CAROL, Harness, running_gateway

pytestmark = [pytest.mark.postgres]


async def _last_used(gw: Harness, key_id: str) -> object:
    async with gw.service.database.sessions() as session:
        return await session.scalar(select(api_keys.c.last_used_at).where(api_keys.c.id == key_id))


async def test_access_control_on_postgres(
    tmp_path: Path, postgres_dsn: str, unique_name: str
) -> None:
    schema = f"gateway_{unique_name}"
    url = postgres_dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    try:
        async with running_gateway(tmp_path, database_url=url, database_schema=schema) as gw:
            project_id = await gw.create_project()
            key_id, token = await gw.api_key(project_id, access="write")
            path = f"/api/v1/projects/{project_id}"
            assert (await gw.call("GET", path, api_key=token)).status_code == 200
            first = await _last_used(gw, key_id)
            assert first is not None
            async with gw.service.database.sessions() as session, session.begin():
                await session.execute(
                    update(api_keys)
                    .where(api_keys.c.id == key_id)
                    .values(last_used_at=first - timedelta(minutes=5))  # type: ignore[operator]
                )
            assert (await gw.call("GET", path, api_key=token)).status_code == 200
            assert await _last_used(gw, key_id) > first  # type: ignore[operator]

            members = f"{path}/members"
            await gw.add_member(project_id, BOB, role="owner")
            demotions = await asyncio.gather(
                gw.call("PATCH", f"{members}/bob", json={"role": "viewer"}),
                gw.call("PATCH", f"{members}/alice", user=BOB, json={"role": "viewer"}),
            )
            statuses = sorted(answer.status_code for answer in demotions)
            # One wins; the other finds itself a viewer (403) or the last owner locked (409).
            assert statuses in ([200, 403], [200, 409]), statuses
            roles = (await gw.call("GET", members, user=BOB)).json()
            assert [m["role"] for m in roles].count("owner") == 1

            owner = BOB if "bob" in {m["user_id"] for m in roles if m["role"] == "owner"} else ALICE
            await gw.add_member(project_id, CAROL, role="editor", user=owner)
            deleted = await gw.call("DELETE", "/api/v1/me", user=CAROL)
            assert deleted.status_code == 200, deleted.text
            assert deleted.json()["memberships_removed"] == 1
            gone = await gw.call("DELETE", "/api/v1/me", user=owner)
            assert gone.status_code == 200, gone.text
            assert gone.json()["projects_deleted"] == [project_id]
            # Alice's key went with her account, or finds her project gone with Bob's.
            after = await gw.call("GET", path, api_key=token)
            assert after.status_code == (401 if owner is ALICE else 404), after.text
    finally:
        engine = create_engine(url, schema=None)
        async with engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await engine.dispose()
