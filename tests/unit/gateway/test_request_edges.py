"""Answers to unusual requests that schemathesis found outside the contract (each was a 400 with
a plain body, a 405 naming one method of several, or a 500)."""

from __future__ import annotations

import io
from pathlib import Path

from tests.unit.gateway.harness import running_gateway


async def test_a_body_that_is_not_utf8_is_a_422_problem(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        response = await gw.call(
            "POST",
            "/api/v1/projects",
            content=b"\x04\xff\xfe",
            headers={"Content-Type": "application/json"},
        )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "invalid_body"


async def test_malformed_json_still_answers_validation_error(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        response = await gw.call(
            "POST",
            "/api/v1/projects",
            content=b'{"name": ',
            headers={"Content-Type": "application/json"},
        )
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


async def test_405_lists_every_method_of_the_path(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        item = await gw.call("OPTIONS", "/api/v1/projects/some-id")
        collection = await gw.call("PUT", "/api/v1/projects")
        outside = await gw.client.post("/health")
    assert item.status_code == 405
    assert item.headers["allow"] == "DELETE, GET, PATCH"
    assert item.headers["content-type"] == "application/problem+json"
    assert item.json()["code"] == "method_not_allowed"
    assert collection.headers["allow"] == "GET, POST"
    # Not in the OpenAPI document: the route's own methods still answer.
    assert (outside.status_code, outside.headers["allow"]) == (405, "GET")


async def test_utf8_form_field_and_file_names_are_read_not_a_500(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        project_id = await gw.create_project()
        response = await gw.call(
            "POST",
            "/api/v1/datasets",
            data={"project_id": project_id, "Ā": "ignored"},
            files={"file": ("données-Ā.csv", io.BytesIO(b"a,b\n1,2\n"), "text/csv")},
        )
    assert response.status_code == 202, response.text
    assert response.json()["filename"] == "données-Ā.csv"


async def test_an_unreadable_last_event_id_is_a_400_problem(tmp_path: Path) -> None:
    """Finding 7: 5,000 digits answered 500 text/plain; 26 digits aborted the stream (SQLite
    cannot bind an integer that large)."""
    async with running_gateway(tmp_path) as gw:
        project_id = await gw.create_project()
        dataset_id = await gw.ready_dataset(project_id)  # its job is final: the stream ends
        path = f"/api/v1/jobs/{dataset_id}/events"
        for value in ("9" * 5000, "1" * 26, str(2**63), "-1", "1.5", "abc", "0x10", "1e3"):
            response = await gw.call("GET", path, headers={"Last-Event-ID": value})
            assert response.status_code == 400, (value[:30], response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["code"] == "invalid_last_event_id"
        for value in ("1", str(2**63 - 1), " 2 ", ""):
            resumed = await gw.call("GET", path, headers={"Last-Event-ID": value})
            assert resumed.status_code == 200, (value, resumed.text)
            assert resumed.headers["content-type"].startswith("text/event-stream")
        everything = await gw.call("GET", path, headers={"Last-Event-ID": "0"})
        after_first = await gw.call("GET", path, headers={"Last-Event-ID": "1"})
        assert "id: 1\n" in everything.text
        assert "id: 1\n" not in after_first.text
