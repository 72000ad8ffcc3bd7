"""Shared pieces of the end-to-end tests: a small real table and a running embedded studio."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pandas as pd
import pytest

from sds_common.auth import load_or_create_embedded_secret
from sds_common.runtime import serve
from sds_studio.client import StudioClient
from sds_studio.embedded import build_app, embedded_settings

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


@pytest.fixture
async def embedded(tmp_path: Path) -> AsyncIterator[StudioClient]:
    """A real embedded studio (HTTP on loopback) and a client signed as one user."""
    settings = embedded_settings(
        data_dir=tmp_path / "studio", http_port=free_port(), log_level="WARNING"
    )
    stop = asyncio.Event()
    server = asyncio.create_task(
        serve(build_app(settings), settings, shutdown_event=stop, handle_signals=False)
    )
    secret = load_or_create_embedded_secret(settings.data_dir)
    client = StudioClient(
        f"http://127.0.0.1:{settings.http_port}",
        secret=secret,
        user_id="alice",
        email="alice@example.org",
    )
    try:
        for _ in range(300):
            try:
                await client.call("GET", "/projects")
                break
            except Exception:  # still starting
                assert not server.done(), server.exception()
                await asyncio.sleep(0.1)
        yield client
    finally:
        await client.__aexit__()
        stop.set()
        await server
