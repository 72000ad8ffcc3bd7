"""Where the real infrastructure comes from.

Integration tests need real Kafka, PostgreSQL, Redis and an S3 server. They are found, in order:

1. the ``SDS_TEST_*`` variables (``make services`` writes them to ``.services/env``, loaded here);
2. testcontainers, when a Docker engine answers;
3. otherwise the test is skipped with a message that says how to start them, unless
   ``REQUIRE_SERVICES=1`` (CI), where a missing service FAILS the run.
"""

from __future__ import annotations

import os
import shlex
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

# Triton stays out of the test process. torch imports it, when installed, the first time an
# optimizer is built (torch._dynamo), only for torch.compile, which nothing here uses; at the end
# of a long pytest run libtriton's nanobind module is not freed, and nanobind then printed a
# report of hundreds of "leaked" instances, types and functions after pytest's summary. With
# `triton` unimportable torch takes it as absent (as on a machine without it), so the report
# cannot appear. The processes that tests start (services, `sds demo`) import it as usual.
sys.modules.setdefault("triton", None)  # type: ignore[arg-type]

ROOT = Path(__file__).resolve().parents[1]
HOW_TO_START = "start them with `make services` (or set SDS_TEST_KAFKA/POSTGRES/REDIS/S3)"


def _load_services_env() -> None:
    env_file = ROOT / ".services" / "env"
    if not env_file.exists():
        return
    for line in env_file.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ")
        key, _, value = line.partition("=")
        os.environ.setdefault(key, shlex.split(value)[0] if value else "")


_load_services_env()


def _required() -> bool:
    return os.environ.get("REQUIRE_SERVICES", "") not in ("", "0", "false")


def _docker_available() -> bool:
    try:
        import docker  # type: ignore[import-untyped]  # noqa: PLC0415

        docker.from_env().ping()
    except Exception:
        return False
    return True


def _missing(name: str, var: str) -> None:
    message = (
        f"{name} is not available: {var} is unset and no Docker engine answers; {HOW_TO_START}"
    )
    if _required():
        pytest.fail(f"REQUIRE_SERVICES=1 but {message}", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """Bootstrap servers of a real Apache Kafka broker."""
    if value := os.environ.get("SDS_TEST_KAFKA"):
        yield value
        return
    if _docker_available():
        from testcontainers.kafka import KafkaContainer  # noqa: PLC0415

        with KafkaContainer().with_kraft() as kafka:
            yield kafka.get_bootstrap_server()
        return
    _missing("Kafka", "SDS_TEST_KAFKA")


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """A ``postgresql://`` DSN of a real PostgreSQL server (a database the tests may write)."""
    if value := os.environ.get("SDS_TEST_POSTGRES"):
        yield value
        return
    if _docker_available():
        from testcontainers.postgres import PostgresContainer  # noqa: PLC0415

        with PostgresContainer("postgres:16-alpine", driver=None) as pg:
            yield pg.get_connection_url()
        return
    _missing("PostgreSQL", "SDS_TEST_POSTGRES")


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A ``redis://`` URL of a real Redis server."""
    if value := os.environ.get("SDS_TEST_REDIS"):
        yield value
        return
    if _docker_available():
        from testcontainers.redis import RedisContainer  # noqa: PLC0415

        with RedisContainer() as redis:
            host = redis.get_container_host_ip()
            yield f"redis://{host}:{redis.get_exposed_port(6379)}/0"
        return
    _missing("Redis", "SDS_TEST_REDIS")


@dataclass(frozen=True)
class S3Server:
    endpoint: str  # host:port
    access_key: str
    secret_key: str
    secure: bool = False


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """A real S3-compatible server (s3proxy here, MinIO under testcontainers)."""
    if value := os.environ.get("SDS_TEST_S3"):
        parts = urlsplit(value)
        yield S3Server(
            endpoint=f"{parts.hostname}:{parts.port}",
            access_key=parts.username or "",
            secret_key=parts.password or "",
            secure=parts.scheme == "https",
        )
        return
    if _docker_available():
        from testcontainers.minio import MinioContainer  # noqa: PLC0415

        with MinioContainer() as minio:
            cfg = minio.get_config()
            yield S3Server(cfg["endpoint"], cfg["access_key"], cfg["secret_key"])
        return
    _missing("S3", "SDS_TEST_S3")


@pytest.fixture
def unique_name() -> str:
    """A short unique name for a topic, bucket, schema or consumer group of one test."""
    return f"t{uuid.uuid4().hex[:12]}"
