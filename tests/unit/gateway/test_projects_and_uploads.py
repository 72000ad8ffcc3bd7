"""Projects, membership scoping, streamed uploads and pagination."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sds_common.events import DatasetUploaded
from tests.unit.gateway.harness import BOB, running_gateway


async def test_project_crud_and_other_users_see_nothing(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        project_id = await gw.create_project("Admissions")
        got = await gw.call("GET", f"/api/v1/projects/{project_id}")
        assert got.json()["role"] == "owner"
        patched = await gw.call(
            "PATCH", f"/api/v1/projects/{project_id}", json={"description": "2024"}
        )
        assert patched.status_code == 200
        assert patched.json()["description"] == "2024"
        dataset = (await gw.upload(project_id)).json()

        for method, path in (
            ("GET", f"/api/v1/projects/{project_id}"),
            ("PATCH", f"/api/v1/projects/{project_id}"),
            ("DELETE", f"/api/v1/projects/{project_id}"),
            ("GET", f"/api/v1/datasets/{dataset['id']}"),
            ("DELETE", f"/api/v1/datasets/{dataset['id']}"),
            ("GET", f"/api/v1/jobs/{dataset['id']}"),
            ("GET", f"/api/v1/datasets/{dataset['id']}/privacy-budget"),
        ):
            body = {"name": "x"} if method == "PATCH" else None
            response = await gw.call(method, path, user=BOB, json=body)
            assert response.status_code == 404, (method, path, response.text)
        assert (await gw.call("GET", "/api/v1/projects", user=BOB)).json()["items"] == []
        assert (await gw.call("GET", "/api/v1/datasets", user=BOB)).json()["items"] == []
        bob_upload = await gw.upload(project_id, user=BOB)
        assert bob_upload.status_code == 404
        assert await gw.storage.list(f"datasets/{dataset['id']}/") != []

        deleted = await gw.call("DELETE", f"/api/v1/projects/{project_id}")
        assert deleted.status_code == 204
        assert (await gw.call("GET", f"/api/v1/projects/{project_id}")).status_code == 404
        await gw.until(lambda: _has(gw, "DatasetDeleted"))


async def _has(gw: object, event_type: str) -> bool:
    return bool(gw.emitted("datasets", event_type))  # type: ignore[attr-defined]


async def test_upload_streams_to_storage_and_emits_dataset_uploaded(tmp_path: Path) -> None:
    content = b"age,income\n" + b"".join(b"%d,%d\n" % (i, i * 10) for i in range(5000))
    async with running_gateway(tmp_path) as gw:
        project_id = await gw.create_project()
        response = await gw.upload(
            project_id, content, filename="../../My Data (1).csv", target_column="income"
        )
        assert response.status_code == 202, response.text
        body = response.json()
        assert body["status"] == "uploaded"
        assert body["job"]["status"] == "queued"
        assert body["sha256"] == hashlib.sha256(content).hexdigest()
        key = f"datasets/{body['id']}/raw/My_Data_1_.csv"
        assert await gw.storage.get_bytes(key) == content

        async def emitted() -> bool:
            return bool(gw.emitted("datasets", "DatasetUploaded"))

        await gw.until(emitted)
        envelope = gw.emitted("datasets", "DatasetUploaded")[0]
        event = DatasetUploaded.model_validate(envelope.payload)
        assert envelope.project_id == project_id
        assert event.object_key == key
        assert event.format == "csv"
        assert event.size_bytes == len(content)
        assert event.sha256 == body["sha256"]
        assert event.target_column == "income"


async def test_upload_over_the_limit_is_413_and_leaves_nothing(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, max_upload_bytes=10_000) as gw:
        project_id = await gw.create_project()
        response = await gw.upload(project_id, b"x,y\n" + b"1,2\n" * 5000)
        assert response.status_code == 413
        assert "upload limit of 10000 bytes" in response.json()["detail"]
        assert await gw.storage.list("datasets/") == []
        assert (await gw.call("GET", "/api/v1/datasets")).json()["items"] == []


async def test_unsupported_type_is_415_and_empty_form_is_422(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        project_id = await gw.create_project()
        response = await gw.upload(
            project_id, b"PK\x03\x04", filename="table.xlsx", content_type="application/zip"
        )
        assert response.status_code == 415
        assert "unsupported file type" in response.json()["detail"]
        missing = await gw.call("POST", "/api/v1/datasets", data={"project_id": project_id})
        assert missing.status_code == 422
        assert await gw.storage.list("datasets/") == []


async def test_cursor_pagination_is_stable_and_complete(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        created = [await gw.create_project(f"p{i}") for i in range(5)]
        seen: list[str] = []
        cursor = None
        pages = 0
        while True:
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = (await gw.call("GET", "/api/v1/projects", params=params)).json()
            seen += [item["id"] for item in page["items"]]
            pages += 1
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert pages == 3
        assert seen == list(reversed(created))  # newest first, each exactly once
        bad = await gw.call("GET", "/api/v1/projects", params={"cursor": "nope"})
        assert bad.status_code == 422

        uploads = [(await gw.upload(created[0])).json()["id"] for _ in range(3)]
        first = (
            await gw.call("GET", "/api/v1/datasets", params={"project_id": created[0], "limit": 2})
        ).json()
        second = (
            await gw.call(
                "GET",
                "/api/v1/datasets",
                params={"project_id": created[0], "limit": 2, "cursor": first["next_cursor"]},
            )
        ).json()
        listed = [d["id"] for d in first["items"] + second["items"]]
        assert listed == list(reversed(uploads))
        assert second["next_cursor"] is None


async def test_openapi_documents_the_contract_with_examples(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        schema = (await gw.client.get("/openapi.json")).json()
    for path in (
        "/api/v1/projects",
        "/api/v1/projects/{project_id}",
        "/api/v1/datasets",
        "/api/v1/datasets/{dataset_id}/profile",
        "/api/v1/datasets/{dataset_id}/privacy-budget",
        "/api/v1/generators",
        "/api/v1/generators/{generator_id}/cancel",
        "/api/v1/generators/{generator_id}/samples",
        "/api/v1/synthetic-datasets/{synthetic_id}/download",
        "/api/v1/evaluations/{evaluation_id}/report",
        "/api/v1/jobs/{job_id}/events",
    ):
        assert path in schema["paths"], path
    components = schema["components"]["schemas"]
    for model in ("Dataset", "Generator", "GeneratorCreate", "SyntheticDataset", "Problem"):
        assert components[model].get("examples"), model
    assert schema["paths"]["/api/v1/datasets"]["post"]["requestBody"]["content"][
        "multipart/form-data"
    ]
