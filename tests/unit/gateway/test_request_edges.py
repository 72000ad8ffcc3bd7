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
