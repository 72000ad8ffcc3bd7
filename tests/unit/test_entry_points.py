"""Every HTTP entry point (gateway, audit, llm) runs the same door, through its real bootstrap.

One identity check (``sds_common.http``): exactly one of each identity header, nonce replay
protection, ``AuthenticationFailed`` events on refusal, rate limits, header limits, and problem
JSON (RFC 9457) for every error, validation errors included. Each test runs against each service.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from sds_common.auth import (
    HEADER_EMAIL,
    HEADER_NONCE,
    HEADER_ROLE,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    HEADER_USER_ID,
    new_nonce,
    signed_headers,
)
from sds_common.bus import wait_until
from tests.support.doors import SERVICES, Headers, open_door

IDENTITY = (
    HEADER_USER_ID,
    HEADER_EMAIL,
    HEADER_ROLE,
    HEADER_TIMESTAMP,
    HEADER_SIGNATURE,
    HEADER_NONCE,
)


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json", response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"].endswith(body["code"])
    return body


def _duplicated(headers: Headers, name: str, *, first: bool, value: str | None) -> Headers:
    """``headers`` with one more ``name`` header (the same value, or ``value``)."""
    original = next(v for k, v in headers if k == name)
    extra = (name, original if value is None else value)
    return [extra, *headers] if first else [*headers, extra]


@pytest.mark.parametrize("service", SERVICES)
async def test_a_duplicated_identity_header_is_401_wherever_it_stands(
    tmp_path: Path, service: str
) -> None:
    """Finding 1: a fresh nonce PREPENDED to a captured signed request passed (the signature
    was checked against one nonce header, the replay store claimed another)."""
    async with open_door(service, tmp_path) as door:
        for name in IDENTITY:
            fresh = new_nonce() if name == HEADER_NONCE else None
            for first in (True, False):
                for value in (None, fresh):
                    headers = _duplicated(door.signed(), name, first=first, value=value)
                    refused = _problem(await door.send(headers), 401)
                    assert refused["code"] == "not_authenticated"
                    assert f"{name} is sent more than once" in refused["detail"], refused
        # The attack itself: one captured request, replayed with a fresh nonce put in front.
        captured = door.signed()
        assert (await door.send(captured)).status_code == door.ok
        for _ in range(2):
            replayed = [(HEADER_NONCE, new_nonce()), *captured]
            _problem(await door.send(replayed), 401)


@pytest.mark.parametrize("service", SERVICES)
async def test_replayed_and_unsigned_nonces_are_refused(tmp_path: Path, service: str) -> None:
    """Finding 2: the audit and llm routes accepted a request without a nonce, and the same
    signed request twice."""
    async with open_door(service, tmp_path) as door:
        headers = door.signed()
        assert (await door.send(headers)).status_code == door.ok
        replayed = _problem(await door.send(headers), 401)
        assert "replayed" in replayed["detail"]
        without = [(k, v) for k, v in door.signed() if k != HEADER_NONCE]
        # Signed without any nonce: a valid signature, refused because replay protection is on.
        unsigned = signed_headers(
            door.secret,
            method=door.method,
            path=door.path,
            user_id=door.user[0],
            email=door.user[1],
            role=door.user[2],
            with_nonce=False,
        )
        assert _problem(await door.send(list(unsigned.items())), 401)["detail"].endswith(
            f"missing header {HEADER_NONCE}"
        )
        _problem(await door.send(without), 401)


@pytest.mark.parametrize("service", SERVICES)
async def test_refusals_become_authentication_failed_events(tmp_path: Path, service: str) -> None:
    """Finding 2: refusals of the audit and llm routes were logged only, never audited."""
    async with open_door(service, tmp_path) as door:
        forged = door.signed(secret="not-the-secret")
        _problem(await door.send(forged), 401)

        async def recorded() -> bool:
            return len(door.refusals()) == 1

        await wait_until(recorded, timeout_s=10)
        [event] = door.refusals()
        assert event.payload["reason"] == "proxy: bad signature"
        assert (event.payload["method"], event.payload["path"]) == (door.method, door.path)
        assert event.actor == service
        assert forged[4][1] not in event.to_bytes().decode()  # never the signature


@pytest.mark.parametrize("service", SERVICES)
async def test_each_user_is_rate_limited_at_every_entry_point(tmp_path: Path, service: str) -> None:
    """Finding 2: the gateway's rate limits did not apply to the audit and llm routes."""
    async with open_door(service, tmp_path, rate_limit_per_user=2) as door:
        for _ in range(2):
            assert (await door.send(door.signed())).status_code == door.ok
        limited = await door.send(door.signed())
        assert _problem(limited, 429)["code"] == "rate_limited"
        assert int(limited.headers["retry-after"]) >= 1


@pytest.mark.parametrize("service", SERVICES)
async def test_oversized_or_too_many_headers_are_431(tmp_path: Path, service: str) -> None:
    """Finding 10: an extra 8 MB header, or 5,000 extra headers, answered 200."""
    async with open_door(service, tmp_path) as door:
        huge = [*door.signed(), ("X-Padding", "a" * 8 * 1024 * 1024)]
        assert _problem(await door.send(huge), 431)["code"] == "request_header_fields_too_large"
        many = [*door.signed(), *((f"X-Extra-{n}", "1") for n in range(5000))]
        assert _problem(await door.send(many), 431)["code"] == "request_header_fields_too_large"
        # A request within the limits still passes.
        assert (await door.send(door.signed())).status_code == door.ok


#: service → a request its validation refuses (query, body or JSON syntax), and an unknown path.
INVALID: dict[str, tuple[str, str, dict[str, Any]]] = {
    "gateway": ("GET", "/api/v1/projects", {"params": {"limit": "0"}}),
    "audit": ("GET", "/api/v1/audit/events", {"params": {"limit": "0"}}),
    "llm": ("POST", "/api/v1/chat", {"json": {"question": ""}}),
}
UNKNOWN = {
    "gateway": "/api/v1/nowhere",
    "audit": "/api/v1/audit/nowhere",
    "llm": "/api/v1/nowhere",
}


@pytest.mark.parametrize("service", SERVICES)
async def test_every_error_is_problem_json(tmp_path: Path, service: str) -> None:
    """Finding 9: errors of the audit and llm routes were FastAPI's ``{"detail": [...]}`` or a
    plain 400."""
    async with open_door(service, tmp_path) as door:
        method, path, kwargs = INVALID[service]
        invalid = _problem(await door.call(method, path, **kwargs), 422)
        assert invalid["code"] == "validation_error"
        assert invalid["errors"], invalid
        # Bytes that are not UTF-8 where JSON is expected: unreadable, like malformed JSON.
        unreadable = await door.client.request(
            door.method,
            door.path,
            headers=[*door.signed(), ("Content-Type", "application/json")],
            content=b"\x04\xff\xfe",
        )
        if door.body is not None:
            assert _problem(unreadable, 422)["code"] == "invalid_body"
        unknown = _problem(await door.call("GET", UNKNOWN[service]), 404)
        assert unknown["code"] == "not_found"
        unsupported = _problem(await door.call("PUT", door.path, content=json.dumps({})), 405)
        assert door.method in unsupported["detail"]


@pytest.mark.parametrize("service", ["audit", "llm"])
async def test_a_key_sent_straight_to_a_service_is_pointed_to_the_gateway(
    tmp_path: Path, service: str
) -> None:
    """Only the gateway verifies API keys (it owns them: no service reads another's tables); a
    service reached directly refuses one with a reason that says where to send it."""
    async with open_door(service, tmp_path) as door:
        token = "sds_0123456789ab_" + "A" * 43
        refused = _problem(await door.send([("Authorization", f"Bearer {token}")]), 401)
        assert "through the gateway" in refused["detail"]
        other = _problem(await door.send([("Authorization", "Bearer not-a-studio-key")]), 401)
        assert "missing header X-User-Id" in other["detail"]  # no key of ours: no identity
        doubled = [*door.signed(), ("Authorization", "Bearer x"), ("Authorization", "Bearer y")]
        assert (
            "Authorization is sent more than once"
            in _problem(await door.send(doubled), 401)["detail"]
        )
