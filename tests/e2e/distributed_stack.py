"""The distributed stack the e2e modules share: six service processes on real servers.

It runs on a Kafka broker of its own and reaches the shared PostgreSQL through a TCP proxy, so
that the fault tests (``test_distributed_faults``) can stop the broker and cut the database
without touching the servers other people use. Started once per session (six Python processes
that import torch take about a minute on 2 cores), in a namespace of its own: topics, schemas
and bucket are private to the run and removed at the end.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from aiokafka import AIOKafkaConsumer

from benchmarks._gateway_stacks import drop_namespace
from sds_common.events import Envelope
from sds_studio.credentials import local_stack_secret
from sds_studio.distributed import SERVICES, DistributedStack, Infrastructure
from tests.conftest import S3Server
from tests.support.outages import PrivateKafka, TcpProxy, kafka_jars


@dataclass(frozen=True)
class DistributedRig:
    """The running stack, the broker it uses and the proxy in front of its database."""

    stack: DistributedStack
    kafka: PrivateKafka
    database: TcpProxy
    #: The data folder holding the stack's secret (`make up-distributed` uses SDS_DATA_DIR).
    data_dir: Path


def _free_port_offset() -> int:
    """An offset at which every service port is free (the default ports may be in use)."""
    base = min(SERVICES.values())
    for offset in range(1000 + secrets.randbelow(50) * 20, 20_000, 20):
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
        assert base + offset < 65_000
        return offset
    raise RuntimeError("no free block of service ports")


@pytest.fixture(scope="session")
def distributed_rig(
    postgres_dsn: str,
    redis_url: str,
    s3_server: S3Server,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[DistributedRig]:
    """The six services, each its own process, on a private broker and a cuttable database."""
    jars = kafka_jars()
    if jars is None:
        message = "java, flock and the Kafka jars (scripts/services/kafka.sh prepare) are needed"
        if os.environ.get("REQUIRE_SERVICES", "") not in ("", "0", "false"):
            pytest.fail(message)
        pytest.skip(message)
    kafka = PrivateKafka(tmp_path_factory.mktemp("kafka"), jars=jars)
    kafka.start()
    dsn = urlsplit(postgres_dsn)
    data_dir = tmp_path_factory.mktemp("sds")
    with TcpProxy(dsn.hostname or "127.0.0.1", dsn.port or 5432) as database:
        proxied = dsn._replace(netloc=f"{dsn.username}:{dsn.password}@127.0.0.1:{database.port}")
        distributed = DistributedStack(
            infra=Infrastructure(
                kafka=kafka.bootstrap,
                postgres=proxied.geturl(),
                redis=redis_url,
                s3_endpoint=s3_server.endpoint,
                s3_access_key=s3_server.access_key,
                s3_secret_key=s3_server.secret_key,
            ),
            namespace=f"e2e{uuid.uuid4().hex[:10]}",
            port_offset=_free_port_offset(),
            log_dir=tmp_path_factory.mktemp("distributed-logs"),
            # As `make up-distributed` does: the secret of a data folder, where the CLI finds it.
            auth_secret=local_stack_secret({"SDS_DATA_DIR": str(data_dir)}),
            audit_signing_key=secrets.token_hex(32),
            # A killed trainer's job is claimed again after 5 s instead of a minute.
            extra_env={
                "SDS_JOBS_LEASE_S": "5",
                "SDS_TRAINER_THREADS": "1",
                "SDS_LOG_LEVEL": "INFO",
            },
        )
        try:
            distributed.start(timeout_s=240.0)
            yield DistributedRig(
                stack=distributed, kafka=kafka, database=database, data_dir=data_dir
            )
        finally:
            distributed.stop()
            database.restore()
            if kafka.answers():
                # Its schemas, topics and bucket (the gateway benchmark's cleanup).
                asyncio.run(drop_namespace(distributed))
            kafka.stop()


async def topic_messages(
    stack: DistributedStack, topic: str, *, key: str
) -> list[tuple[Envelope, dict[str, bytes]]]:
    """Every message on a topic with partition key ``key`` (envelope and headers), once each."""
    consumer = AIOKafkaConsumer(
        f"{stack.namespace}.{topic}",
        bootstrap_servers=stack.infra.kafka,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        async with asyncio.timeout(30):
            while not consumer.assignment():
                await asyncio.sleep(0.05)
        partitions = sorted(consumer.assignment())
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        seen: dict[str, tuple[Envelope, dict[str, bytes]]] = {}
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            batch = await consumer.getmany(*partitions, timeout_ms=1000)
            for records in batch.values():
                for record in records:
                    envelope = Envelope.from_bytes(record.value)
                    if envelope.key == key:
                        headers = {name: bytes(value) for name, value in record.headers or ()}
                        seen.setdefault(str(envelope.event_id), (envelope, headers))
        return list(seen.values())
    finally:
        await consumer.stop()
