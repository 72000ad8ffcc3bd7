"""The two stacks the gateway benchmark loads, and the resources it seeds in them.

* embedded: ``python -m sds_studio up`` (every service in one process, uvicorn serving the
  embedded app, SQLite and a folder) in a fresh data folder;
* distributed: ``DistributedStack`` (one process per service on the Kafka, PostgreSQL, Redis and
  S3 of ``make services``) in a namespace of its own (topics, schemas, bucket), removed after.

Both are seeded through the public API as a user would: a project, a small table (profiled by
the datasets service), and a tiny dp-ctgan generator trained by the trainer, so
``POST /generators/{id}/samples`` has a succeeded generator to sample from.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pandas as pd
from aiokafka.admin import AIOKafkaAdminClient
from minio import Minio
from sqlalchemy import text

from sds_common.auth import load_or_create_embedded_secret
from sds_common.db import create_engine
from sds_studio.client import StudioClient
from sds_studio.distributed import SERVICES, DistributedStack, Infrastructure

ROOT = Path(__file__).resolve().parents[1]
ADULT = ROOT / "data" / "adult" / "adult.csv"
USER = ("bench-user", "bench-user@example.org", "user")
#: A small slice of UCI Adult: profiled and trained in seconds, so seeding stays cheap.
SEED_ROWS = 400
SEED_COLUMNS = ["age", "workclass", "hours-per-week", "income"]
TRAIN_PARAMS = {
    "epochs": 1,
    "batch_size": 100,
    "embedding_dim": 16,
    "generator_dims": [32],
    "discriminator_dims": [32],
    "public_metadata": {"income": {"categories": ["<=50K", ">50K"]}},
}
START_TIMEOUT_S = 600.0
STOP_GRACE_S = 10.0
#: One user sends all the load: its per-user rate limit (1,200 per minute by default) is raised
#: out of the way; the limiter still counts every request.
SERVER_ENV = {"SDS_RATE_LIMIT_PER_USER": "1000000000"}
STUDIO_UP = (sys.executable, "-m", "sds_studio", "up")


@dataclass(frozen=True)
class Target:
    """A running gateway and how to sign for it."""

    stack: str
    host: str
    port: int
    secret: str
    pids: tuple[int, ...]  # the gateway's process (embedded: the one process of every service)

    @property
    def url(self) -> str:
        """The gateway's base URL."""
        return f"http://{self.host}:{self.port}"


@dataclass(frozen=True)
class Seeded:
    """The resources the measured requests point at."""

    dataset_id: str
    generator_id: str


def _clean_env() -> dict[str, str]:
    """This process's environment without ``SDS_*`` (a developer's settings must not leak in),
    plus ``SERVER_ENV``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("SDS_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(SERVER_ENV)
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(url: str, process: subprocess.Popen[bytes], *, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise RuntimeError(f"the embedded studio exited with {process.returncode}:\n{tail}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{url}/ready", timeout=2.0).status_code == 200:
                return
        time.sleep(0.25)
    raise TimeoutError(f"the embedded studio did not answer /ready within {START_TIMEOUT_S:.0f} s")


@contextlib.contextmanager
def embedded(workdir: Path) -> Iterator[Target]:
    """``sds up`` in ``workdir`` on a free loopback port, until the block ends."""
    data_dir = workdir / "studio"
    port = _free_port()
    log = workdir / "embedded.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [*STUDIO_UP, "--data-dir", str(data_dir), "--port", str(port)],
            env=_clean_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_ready(url, process, log=log)
        secret = load_or_create_embedded_secret(data_dir)
        yield Target(
            stack="embedded", host="127.0.0.1", port=port, secret=secret, pids=(process.pid,)
        )
    finally:
        # Graceful, but not waiting for the queued sampling and evaluation jobs to drain.
        process.terminate()
        try:
            process.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _free_port_offset() -> int:
    """An offset at which every service port is free."""
    for offset in range(2000 + secrets.randbelow(100) * 20, 30_000, 20):
        sockets: list[socket.socket] = []
        try:
            for port in SERVICES.values():
                sock = socket.socket()
                sockets.append(sock)
                sock.bind(("127.0.0.1", port + offset))
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
        return offset
    raise RuntimeError("no free block of service ports")


@contextlib.contextmanager
def distributed(infra: Infrastructure, workdir: Path) -> Iterator[Target]:
    """The six service processes in a fresh namespace, dropped when the block ends."""
    stack = DistributedStack(
        infra=infra,
        namespace=f"bench{uuid.uuid4().hex[:10]}",
        port_offset=_free_port_offset(),
        log_dir=workdir / "distributed-logs",
        auth_secret=secrets.token_hex(32),
        audit_signing_key=secrets.token_hex(32),
        extra_env={"SDS_TRAINER_THREADS": "1", **SERVER_ENV},
    )
    try:
        stack.start(timeout_s=START_TIMEOUT_S)
        yield Target(
            stack="distributed",
            host="127.0.0.1",
            port=stack.port("gateway"),
            secret=stack.auth_secret,
            pids=(stack.processes["gateway"].pid,),
        )
    finally:
        stack.stop()
        asyncio.run(drop_namespace(stack))


async def drop_namespace(stack: DistributedStack) -> None:
    """Drop the stack's schemas; its topics and bucket best effort."""
    engine = create_engine(stack.infra.postgres.replace("postgresql://", "postgresql+asyncpg://"))
    try:
        async with engine.begin() as conn:
            for service in SERVICES:
                schema = f"{stack.namespace}_{service}"
                await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        await engine.dispose()
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.infra.kafka)
    with contextlib.suppress(Exception):
        await admin.start()
        try:
            ours = [t for t in await admin.list_topics() if t.startswith(f"{stack.namespace}.")]
            if ours:
                await admin.delete_topics(ours)
        finally:
            await admin.close()
    with contextlib.suppress(Exception):
        s3 = Minio(
            stack.infra.s3_endpoint,
            access_key=stack.infra.s3_access_key,
            secret_key=stack.infra.s3_secret_key,
            secure=False,
        )
        bucket = stack.env_for("gateway")["SDS_S3_BUCKET"]
        for item in s3.list_objects(bucket, recursive=True):
            s3.remove_object(bucket, item.object_name)
        s3.remove_bucket(bucket)


async def seed(target: Target, workdir: Path) -> Seeded:
    """A ready dataset and a succeeded generator of the benchmark's user, made through the API."""
    table = workdir / "adult-slice.csv"
    frame = pd.read_csv(ADULT, usecols=SEED_COLUMNS).sample(n=SEED_ROWS, random_state=5)
    frame.to_csv(table, index=False)
    async with StudioClient(
        target.url, secret=target.secret, user_id=USER[0], email=USER[1], role=USER[2]
    ) as client:
        project = await client.create_project("gateway benchmark")
        dataset = await client.upload(table, project_id=project["id"], target="income")
        dataset = await client.wait(f"/datasets/{dataset['id']}")
        if dataset["status"] != "ready":
            raise RuntimeError(f"the seed table was not accepted: {dataset.get('error')}")
        generator = await client.train(
            dataset["id"], method="dp-ctgan", epsilon=1.0, params=TRAIN_PARAMS
        )
        generator = await client.wait(f"/generators/{generator['id']}")
        if generator["status"] != "succeeded":
            raise RuntimeError(f"the seed generator did not train: {generator.get('error')}")
    return Seeded(dataset_id=dataset["id"], generator_id=generator["id"])
