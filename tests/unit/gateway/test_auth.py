"""Signed proxy identity: the shared primitives and the gateway's enforcement."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from sds_common.auth import (
    HEADER_NONCE,
    AuthError,
    canonical_string,
    load_or_create_embedded_secret,
    new_nonce,
    sign,
    signed_headers,
    verify,
)
from sds_common.http.settings import resolve_auth_secrets
from sds_gateway.config import GatewaySettings
from tests.unit.gateway.harness import ALICE, SECRETS, running_gateway

PATH = "/api/v1/projects"


def _headers(**overrides: object) -> dict[str, str]:
    headers = signed_headers(
        "s3cret", method="GET", path=PATH, user_id="u1", email="u1@example.com", role="user"
    )
    headers.update({k: str(v) for k, v in overrides.items()})
    return headers


def test_canonical_string_and_signature_are_the_documented_ones() -> None:
    assert canonical_string(1700000000, "get", PATH, "u1", "e@x", "user") == (
        "1700000000\nGET\n/api/v1/projects\nu1\ne@x\nuser"
    )
    signature = sign("k", timestamp=1, method="GET", path="/", user_id="u", email="e", role="user")
    assert len(signature) == 64
    assert signature == signature.lower()


def test_verify_accepts_a_fresh_signature_under_any_active_secret() -> None:
    identity = verify(_headers(), secrets=["old", "s3cret"], method="GET", path=PATH)
    assert (identity.user_id, identity.email, identity.role) == ("u1", "u1@example.com", "user")


@pytest.mark.parametrize(
    ("headers", "method", "path", "now_offset", "reason"),
    [
        ({"X-Proxy-Signature": ""}, "GET", PATH, 0, "missing header X-Proxy-Signature"),
        ({}, "GET", PATH, 400, "stale"),
        ({}, "GET", PATH, -400, "future"),
        ({"X-User-Email": "mallory@example.com"}, "GET", PATH, 0, "bad signature"),
        ({"X-User-Role": "admin"}, "GET", PATH, 0, "bad signature"),
        ({}, "DELETE", PATH, 0, "bad signature"),
        ({}, "GET", "/api/v1/datasets", 0, "bad signature"),
        ({"X-Proxy-Timestamp": "soon"}, "GET", PATH, 0, "unix seconds"),
    ],
)
def test_verify_refuses(
    headers: dict[str, str], method: str, path: str, now_offset: int, reason: str
) -> None:
    with pytest.raises(AuthError, match=reason):
        verify(
            _headers(**headers),
            secrets=["s3cret"],
            method=method,
            path=path,
            now=time.time() + now_offset,
        )


def test_verify_refuses_a_wrong_secret_and_no_secret() -> None:
    with pytest.raises(AuthError, match="bad signature"):
        verify(_headers(), secrets=["other"], method="GET", path=PATH)
    with pytest.raises(AuthError, match="no proxy secret"):
        verify(_headers(), secrets=[], method="GET", path=PATH)


def test_embedded_secret_is_created_private_and_reused(tmp_path: Path) -> None:
    first = load_or_create_embedded_secret(tmp_path)
    path = tmp_path / "secrets" / "proxy-secret"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_or_create_embedded_secret(tmp_path) == first
    assert len(first) == 64


def test_settings_split_secrets_hide_them_and_distributed_needs_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = GatewaySettings(auth_secrets=" a , b ", data_dir=tmp_path)
    assert resolve_auth_secrets(settings) == ("a", "b")
    assert "a" not in repr(settings.auth_secrets)
    embedded = GatewaySettings(data_dir=tmp_path)
    assert resolve_auth_secrets(embedded) == (load_or_create_embedded_secret(tmp_path),)
    monkeypatch.setenv("SDS_RUNTIME", "distributed")
    monkeypatch.setenv("SDS_BUS", "kafka")
    monkeypatch.delenv("SDS_AUTH_SECRETS", raising=False)
    with pytest.raises(ValidationError, match="SDS_AUTH_SECRETS"):
        GatewaySettings()
    monkeypatch.setenv("SDS_AUTH_SECRETS", "x,y")
    assert GatewaySettings().secret_values() == ("x", "y")


async def test_unsigned_or_forged_requests_get_401_and_change_nothing(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        unsigned = await gw.client.post(PATH, json={"name": "x"})
        assert unsigned.status_code == 401
        assert unsigned.headers["content-type"] == "application/problem+json"
        assert "missing header" in unsigned.json()["detail"]
        signed = signed_headers(
            SECRETS[0], method="POST", path=PATH, user_id="alice", email="a@x", role="user"
        )
        tampered = {**signed, "X-User-Id": "bob"}
        stale = signed_headers(
            SECRETS[0],
            method="POST",
            path=PATH,
            user_id="alice",
            email="a@x",
            role="user",
            now=time.time() - 1000,
        )
        future = {**stale, "X-Proxy-Timestamp": str(int(time.time()) + 1000)}
        for headers in (tampered, stale, future):
            response = await gw.client.post(PATH, json={"name": "x"}, headers=headers)
            assert response.status_code == 401, response.text
        wrong = await gw.call("POST", PATH, secret="not-the-secret", json={"name": "x"})
        assert wrong.status_code == 401
        assert "bad signature" in wrong.json()["detail"]
        # No handler ran: nothing was created for anyone.
        for secret in SECRETS:  # both rotation secrets are accepted
            listed = await gw.call("GET", PATH, secret=secret)
            assert listed.status_code == 200
            assert listed.json()["items"] == []
        assert ALICE[0] == "alice"


def test_a_nonce_is_signed_and_only_required_when_asked() -> None:
    assert canonical_string(1, "get", "/", "u", "e", "user", nonce="n" * 16) == (
        "1\nGET\n/\nu\ne\nuser\n" + "n" * 16
    )
    with_nonce = signed_headers(
        "s3cret", method="GET", path=PATH, user_id="u1", email="u1@example.com", role="user"
    )
    assert len(with_nonce[HEADER_NONCE]) >= 16
    again = signed_headers(
        "s3cret", method="GET", path=PATH, user_id="u1", email="u1@example.com", role="user"
    )
    assert again[HEADER_NONCE] != with_nonce[HEADER_NONCE]  # fresh each time
    verify(with_nonce, secrets=["s3cret"], method="GET", path=PATH, require_nonce=True)
    swapped = {**with_nonce, HEADER_NONCE: new_nonce()}
    with pytest.raises(AuthError, match="bad signature"):
        verify(swapped, secrets=["s3cret"], method="GET", path=PATH)
    dropped = {k: v for k, v in with_nonce.items() if k != HEADER_NONCE}
    with pytest.raises(AuthError, match="bad signature"):  # the nonce was part of the signature
        verify(dropped, secrets=["s3cret"], method="GET", path=PATH)
    without = signed_headers(
        "s3cret",
        method="GET",
        path=PATH,
        user_id="u1",
        email="u1@example.com",
        role="user",
        with_nonce=False,
    )
    assert HEADER_NONCE not in without
    verify(without, secrets=["s3cret"], method="GET", path=PATH)  # compatible five-header form
    with pytest.raises(AuthError, match=f"missing header {HEADER_NONCE}"):
        verify(without, secrets=["s3cret"], method="GET", path=PATH, require_nonce=True)
    for bad in ("short", "x" * 129, "has space in it!!", "ü" * 20):
        with pytest.raises(AuthError, match=HEADER_NONCE):
            verify({**with_nonce, HEADER_NONCE: bad}, secrets=["s3cret"], method="GET", path=PATH)
