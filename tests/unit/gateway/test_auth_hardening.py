"""Every way a request's identity can be wrong is a 401, refused before any handler runs."""

import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import pytest
from fastapi import APIRouter, Depends, FastAPI
from sqlalchemy import Table, func, select

from sds_common.auth import (
    DEFAULT_MAX_SKEW_S,
    HEADER_EMAIL,
    HEADER_NONCE,
    HEADER_ROLE,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    HEADER_USER_ID,
    REQUIRED_HEADERS,
    Identity,
    new_nonce,
    signed_headers,
)
from sds_common.runtime.service import Service
from sds_gateway.adapters.orm import projects, users
from sds_gateway.bootstrap import gateway_of
from sds_gateway.entrypoints.deps import identity_dependency
from tests.unit.gateway.harness import SECRETS, Harness, running_gateway

SPY = "/api/v1/test-spy"
PROJECTS = "/api/v1/projects"
USER = {"user_id": "alice", "email": "alice@example.com", "role": "user"}

Headers = dict[str, str]
Case = Callable[[str], Headers]
"""Builds the headers of a ``POST`` to the given path."""


def _signed(
    target: str,
    *,
    method: str = "POST",
    secret: str = SECRETS[0],
    now: float | None = None,
    with_nonce: bool = True,
) -> Headers:
    return signed_headers(
        secret,
        method=method,
        path=target,
        now=now,
        with_nonce=with_nonce,
        user_id=USER["user_id"],
        email=USER["email"],
        role=USER["role"],
    )


def _without(name: str) -> Case:
    return lambda target: {k: v for k, v in _signed(target).items() if k != name}


def _with(name: str, value: str) -> Case:
    """Sign, then change one identity header (what an attacker holding a header set can do)."""
    return lambda target: {**_signed(target), name: value}


def _truncated(target: str) -> Headers:
    headers = _signed(target)
    return {**headers, HEADER_SIGNATURE: headers[HEADER_SIGNATURE][:-2]}


def _legacy(target: str) -> Headers:
    return {**_without(HEADER_SIGNATURE)(target), "X-Proxy-Secret": SECRETS[0]}


#: name → headers that must be refused, whatever route they are sent to.
REFUSED: dict[str, Case] = {
    **{f"missing {name}": _without(name) for name in REQUIRED_HEADERS},
    "no identity headers at all": lambda _target: {},
    "stale (> 300 s old)": lambda t: _signed(t, now=time.time() - DEFAULT_MAX_SKEW_S - 5),
    "future-dated (> 300 s ahead)": lambda t: _signed(t, now=time.time() + DEFAULT_MAX_SKEW_S + 5),
    "signed with an unknown secret": lambda t: _signed(t, secret="third-secret"),
    "signed with the empty secret": lambda t: _signed(t, secret=""),
    "role raised from user to admin": _with(HEADER_ROLE, "admin"),
    "email changed": _with(HEADER_EMAIL, "mallory@example.com"),
    "user id changed": _with(HEADER_USER_ID, "bob"),
    "timestamp moved after signing": _with(HEADER_TIMESTAMP, str(int(time.time()) - 1)),
    "signed for another path": lambda _target: _signed("/api/v1/datasets"),
    "signed for another method": lambda t: _signed(t, method="GET"),
    "signature truncated": _truncated,
    "legacy plain shared-secret header": _legacy,
    "no nonce while replay protection is on": lambda t: _signed(t, with_nonce=False),
    "nonce replaced after signing": _with(HEADER_NONCE, new_nonce()),
    "nonce removed after signing": lambda t: {
        k: v for k, v in _signed(t).items() if k != HEADER_NONCE
    },
    "nonce that is not URL-safe": _with(HEADER_NONCE, "not a nonce at all"),
}


def _spy(calls: list[Identity]) -> Callable[[FastAPI, Service], None]:
    """Mount a route behind the gateway's real identity dependency that records each call.

    A plain ``APIRoute`` on purpose (no ``ProblemRoute``): a route someone adds without it must
    still answer a refused identity with a 401, not a 500.
    """

    def extend(app: FastAPI, service: Service) -> None:
        current_user = identity_dependency(gateway_of(service))
        router = APIRouter()

        @router.post(SPY.removeprefix("/api/v1"))
        async def spy(user: Annotated[Identity, Depends(current_user)]) -> dict[str, str]:
            calls.append(user)
            return {"user": user.user_id}

        app.include_router(router, prefix="/api/v1")

    return extend


async def _count(gw: Harness, table: Table) -> int:
    async with gw.service.database.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(table))).scalar_one())


@pytest.mark.parametrize("case", sorted(REFUSED))
async def test_a_wrong_identity_is_401_and_no_handler_runs(tmp_path: Path, case: str) -> None:
    calls: list[Identity] = []
    async with running_gateway(tmp_path, extend=_spy(calls)) as gw:
        spied = await gw.client.post(SPY, headers=REFUSED[case](SPY))
        assert spied.status_code == 401, spied.text
        assert spied.headers["content-type"] == "application/problem+json"
        created = await gw.client.post(
            PROJECTS, json={"name": "x"}, headers=REFUSED[case](PROJECTS)
        )
        assert created.status_code == 401, created.text
        assert calls == []
        assert await _count(gw, users) == 0  # the identity dependency never finished
        assert await _count(gw, projects) == 0
        assert not gw.broker.messages(gw.settings.topic("projects"))


async def test_the_spy_runs_for_a_good_signature(tmp_path: Path) -> None:
    """The control: the checks above would notice a handler that ran."""
    calls: list[Identity] = []
    async with running_gateway(tmp_path, extend=_spy(calls)) as gw:
        response = await gw.client.post(SPY, headers=_signed(SPY))
        assert response.status_code == 200, response.text
        assert [c.user_id for c in calls] == ["alice"]
        assert await _count(gw, users) == 1


async def test_rotation_accepts_both_active_secrets_and_refuses_a_third(tmp_path: Path) -> None:
    calls: list[Identity] = []
    async with running_gateway(tmp_path, extend=_spy(calls)) as gw:
        for secret in SECRETS:
            response = await gw.client.post(SPY, headers=_signed(SPY, secret=secret))
            assert response.status_code == 200, (secret, response.text)
            created = await gw.call("POST", PROJECTS, secret=secret, json={"name": secret})
            assert created.status_code == 201, created.text
        third = await gw.client.post(SPY, headers=_signed(SPY, secret="third-secret"))
        assert third.status_code == 401
        assert "bad signature" in third.json()["detail"]
        assert len(calls) == len(SECRETS)
        assert await _count(gw, projects) == len(SECRETS)


async def test_skew_edges_are_inclusive_of_300_s(tmp_path: Path) -> None:
    calls: list[Identity] = []
    async with running_gateway(tmp_path, extend=_spy(calls)) as gw:
        for offset in (-DEFAULT_MAX_SKEW_S + 5, DEFAULT_MAX_SKEW_S - 5):
            response = await gw.client.post(SPY, headers=_signed(SPY, now=time.time() + offset))
            assert response.status_code == 200, (offset, response.text)
        assert len(calls) == 2


async def test_a_replayed_request_is_401_and_runs_no_handler(tmp_path: Path) -> None:
    calls: list[Identity] = []
    async with running_gateway(tmp_path, extend=_spy(calls)) as gw:
        headers = _signed(SPY)
        first = await gw.client.post(SPY, headers=headers)
        assert first.status_code == 200, first.text
        replayed = await gw.client.post(SPY, headers=headers)
        assert replayed.status_code == 401, replayed.text
        assert "replayed" in replayed.json()["detail"]
        assert len(calls) == 1
        create = _signed(PROJECTS)
        created = await gw.client.post(PROJECTS, json={"name": "once"}, headers=create)
        assert created.status_code == 201, created.text
        again = await gw.client.post(PROJECTS, json={"name": "twice"}, headers=create)
        assert again.status_code == 401, again.text
        assert await _count(gw, projects) == 1
        # A fresh signature (new nonce) for the same request is fine.
        fresh = await gw.client.post(SPY, headers=_signed(SPY))
        assert fresh.status_code == 200, fresh.text


async def test_without_replay_protection_the_five_header_form_is_accepted(
    tmp_path: Path,
) -> None:
    """Compatible mode (SDS_AUTH_REPLAY_PROTECTION=false): only the 300 s window limits reuse."""
    calls: list[Identity] = []
    async with running_gateway(tmp_path, extend=_spy(calls), auth_replay_protection=False) as gw:
        headers = _signed(SPY, with_nonce=False)
        for _ in range(2):
            response = await gw.client.post(SPY, headers=headers)
            assert response.status_code == 200, response.text
        tampered = await gw.client.post(SPY, headers={**_signed(SPY), HEADER_NONCE: new_nonce()})
        assert tampered.status_code == 401  # a nonce that is sent is still signed
        assert len(calls) == 2


async def test_refusals_are_recorded_without_any_header_value(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_gateway(tmp_path, auth_failure_events_per_window=3) as gw:
        forged = {**_signed(PROJECTS), HEADER_USER_ID: "mallory-the-forger"}
        secrets_seen = [forged[HEADER_SIGNATURE], forged[HEADER_NONCE], "mallory-the-forger"]
        with caplog.at_level("INFO"):
            for _ in range(5):
                response = await gw.client.post(PROJECTS, json={"name": "x"}, headers=forged)
                assert response.status_code == 401
            token = "sds_0123456789ab_" + "A" * 43
            keyed = await gw.client.get(PROJECTS, headers={"Authorization": f"Bearer {token}"})
            assert keyed.status_code == 401
        topic = gw.settings.topic("access")

        async def recorded() -> bool:
            return len(gw.emitted(topic, "AuthenticationFailed")) == 3

        await gw.until(recorded)
        events = gw.emitted(topic, "AuthenticationFailed")
        assert {e.payload["reason"] for e in events} == {"proxy: bad signature"}
        assert {(e.payload["method"], e.payload["path"]) for e in events} == {("POST", PROJECTS)}
        assert all(e.payload["user_id"] == "anonymous" for e in events)
        messages = [r.getMessage() for r in caplog.records]
        assert sum("request refused" in m for m in messages) == 6  # each one is logged
        everything = " ".join(messages) + " ".join(e.to_bytes().decode() for e in events)
        for value in [*secrets_seen, token, *SECRETS]:
            assert value not in everything
        metrics = (await gw.client.get("/metrics")).text
        refused = 'http_auth_failures_total{{recorded="false",scheme="{}",service="gateway"}} {}'
        assert refused.format("proxy", 2.0) in metrics
        assert refused.format("api_key", 1.0) in metrics
