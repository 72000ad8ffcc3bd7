"""API keys work at every entry point of the embedded studio, the llm and audit routes included.

Finding 2: a valid key got 401 from the llm and audit routes. The gateway is the only part that
verifies keys (it owns them); it hands the request on as a signed identity carrying the key's
scope, which the llm routes honour (the key's project only) and the audit routes refuse (403:
the audit log is for signed-in admins, never a project's key).
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from asgi_lifespan import LifespanManager

from sds_common.auth import load_or_create_embedded_secret, signed_headers
from sds_studio.embedded import build_app, embedded_settings

TABLE = "age,income,city\n" + "".join(
    f"{20 + n % 50},{30_000 + 100 * n},{('Oslo', 'Lima', 'Pune')[n % 3]}\n" for n in range(60)
)
ROOT = ("root", "root@example.com", "admin")
ALICE = ("alice", "alice@example.com", "user")


@dataclass
class Studio:
    client: httpx.AsyncClient
    secret: str

    async def call(
        self,
        method: str,
        path: str,
        *,
        user: tuple[str, str, str] = ALICE,
        key: str | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        headers = (
            {"Authorization": f"Bearer {key}"}
            if key is not None
            else signed_headers(
                self.secret, method=method, path=path, user_id=user[0], email=user[1], role=user[2]
            )
        )
        return await self.client.request(method, path, headers=headers, **kwargs)

    async def project_with_dataset(self, *, user: tuple[str, str, str] = ALICE) -> tuple[str, str]:
        created = await self.call("POST", "/api/v1/projects", user=user, json={"name": "p"})
        assert created.status_code == 201, created.text
        project_id = created.json()["id"]
        uploaded = await self.call(
            "POST",
            "/api/v1/datasets",
            user=user,
            data={"project_id": project_id},
            files={"file": ("t.csv", io.BytesIO(TABLE.encode()), "text/csv")},
        )
        assert uploaded.status_code == 202, uploaded.text
        dataset_id = uploaded.json()["id"]
        # The llm service learns of the dataset and the membership from events.
        path = f"/api/v1/datasets/{dataset_id}/data-dictionary"
        async with asyncio.timeout(60):
            while (known := await self.call("POST", path, user=user)).status_code == 404:
                await asyncio.sleep(0.1)
        assert known.status_code == 200, known.text
        return project_id, dataset_id

    async def key(self, project_id: str, *, user: tuple[str, str, str] = ALICE) -> str:
        response = await self.call(
            "POST",
            "/api/v1/api-keys",
            user=user,
            json={"name": "ci", "project_id": project_id, "access": "read"},
        )
        assert response.status_code == 201, response.text
        return str(response.json()["token"])


@asynccontextmanager
async def studio(tmp_path: Path) -> AsyncIterator[Studio]:
    app = build_app(embedded_settings(data_dir=tmp_path))
    async with LifespanManager(app, startup_timeout=120, shutdown_timeout=60) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://studio") as client:
            yield Studio(client=client, secret=load_or_create_embedded_secret(tmp_path))


async def test_a_key_reaches_the_llm_routes_within_its_project_only(tmp_path: Path) -> None:
    async with studio(tmp_path) as s:
        project_id, dataset_id = await s.project_with_dataset()
        _, elsewhere = await s.project_with_dataset()
        token = await s.key(project_id)
        dictionary = await s.call(
            "POST", f"/api/v1/datasets/{dataset_id}/data-dictionary", key=token
        )
        assert dictionary.status_code == 200, dictionary.text
        assert {e["name"] for e in dictionary.json()["entries"]} == {"age", "income", "city"}
        sized = await s.call(
            "POST", "/api/v1/privacy/advice", key=token, json={"n_rows": 5000, "n_columns": 3}
        )
        assert sized.status_code == 200, sized.text
        # Alice may read the other project; her key may not (as for every gateway route).
        hidden = await s.call("POST", f"/api/v1/datasets/{elsewhere}/data-dictionary", key=token)
        assert hidden.status_code == 404, hidden.text
        assert hidden.json()["code"] == "not_found"
        wrong = await s.call(
            "POST", "/api/v1/privacy/advice", key=token[:-1] + "x", json={"n_rows": 5}
        )
        assert wrong.status_code == 401
        assert wrong.headers["content-type"] == "application/problem+json"


async def test_a_key_is_refused_by_the_audit_routes_with_403_not_401(tmp_path: Path) -> None:
    async with studio(tmp_path) as s:
        created = await s.call("POST", "/api/v1/projects", user=ROOT, json={"name": "admin's"})
        assert created.status_code == 201, created.text
        token = await s.key(created.json()["id"], user=ROOT)
        refused = await s.call("GET", "/api/v1/audit/verify", key=token)
        assert refused.status_code == 403, refused.text
        assert refused.json()["code"] == "api_key_not_allowed"
        assert (await s.call("GET", "/api/v1/audit/verify", user=ROOT)).status_code == 200
