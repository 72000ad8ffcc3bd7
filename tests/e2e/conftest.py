"""Shared pieces of the end-to-end tests: a small real table and a running embedded studio."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from sds_common.auth import load_or_create_embedded_secret
from sds_common.runtime import serve
from sds_studio.client import StudioClient
from sds_studio.embedded import build_app, embedded_settings
from tests.e2e.distributed_stack import distributed_rig  # noqa: F401 — the fixture, for pytest

ROOT = Path(__file__).resolve().parents[2]
ADULT = ROOT / "data" / "adult" / "adult.csv"

#: Small enough for CI on 2 cores, large enough for DP-SGD to be meaningful.
E2E_ROWS = 3000
#: The target's categories are public knowledge (declared, so they cost no ε and are kept even
#: though the minority class is too small for DP category discovery on 2,400 rows).
E2E_PARAMS = {
    "epochs": 3,
    "batch_size": 200,
    "public_metadata": {"income": {"categories": ["<=50K", ">50K"]}},
}


@pytest.fixture(scope="session")
def small_adult(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "adult_small.csv"
    pd.read_csv(ADULT).sample(n=E2E_ROWS, random_state=7).to_csv(path, index=False)
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Studio:
    """A running embedded studio: where it listens and the proxy secret it trusts."""

    url: str
    secret: str

    def client(self, *, user_id: str, email: str, role: str = "user") -> StudioClient:
        """A client signed as this user."""
        return StudioClient(self.url, secret=self.secret, user_id=user_id, email=email, role=role)


@pytest.fixture
async def studio(tmp_path: Path) -> AsyncIterator[Studio]:
    """A real embedded studio (HTTP on loopback), ready to serve."""
    settings = embedded_settings(
        data_dir=tmp_path / "studio", http_port=free_port(), log_level="WARNING"
    )
    stop = asyncio.Event()
    server = asyncio.create_task(
        serve(build_app(settings), settings, shutdown_event=stop, handle_signals=False)
    )
    studio = Studio(
        url=f"http://127.0.0.1:{settings.http_port}",
        secret=load_or_create_embedded_secret(settings.data_dir),
    )
    try:
        async with studio.client(user_id="probe", email="probe@example.org") as probe:
            for _ in range(300):
                try:
                    await probe.call("GET", "/projects")
                    break
                except Exception:  # still starting
                    assert not server.done(), server.exception()
                    await asyncio.sleep(0.1)
        yield studio
    finally:
        stop.set()
        await server


@pytest.fixture
async def embedded(studio: Studio) -> AsyncIterator[StudioClient]:
    """A client of the running studio, signed as one user."""
    client = studio.client(user_id="alice", email="alice@example.org")
    try:
        yield client
    finally:
        await client.__aexit__()


@pytest.fixture
async def embedded_admin(studio: Studio) -> AsyncIterator[StudioClient]:
    """A client of the same studio, signed as an admin (the audit routes are admin-only)."""
    client = studio.client(user_id="root", email="root@example.org", role="admin")
    try:
        yield client
    finally:
        await client.__aexit__()
