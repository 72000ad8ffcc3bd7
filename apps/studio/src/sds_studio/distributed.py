"""The distributed stack on one machine: every service as its own process on real servers.

``python -m sds_studio.distributed`` (``make up-distributed``) starts the six services against the
Kafka, PostgreSQL, Redis and S3 that ``make services`` runs (addresses from ``.services/env``),
waits until each answers ``/ready``, and keeps them running until Ctrl-C. The gateway is the one
address clients use: it forwards the audit and llm routes to those services' processes
(``SDS_UPSTREAM_*``). The end-to-end tests use ``DistributedStack`` the same way, with their own
topic prefix, schemas and bucket.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit

import httpx

from sds_studio.credentials import local_stack_secret

SERVICES: Mapping[str, int] = {
    "gateway": 8000,
    "datasets": 8001,
    "trainer": 8002,
    "evaluator": 8003,
    "llm": 8004,
    "audit": 8005,
}


@dataclass(frozen=True)
class Infrastructure:
    """Addresses of the servers the services connect to."""

    kafka: str
    postgres: str  # postgresql://user:pass@host:port/db
    redis: str
    s3_endpoint: str
    s3_access_key: str
    s3_secret_key: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Infrastructure:
        """Read the ``SDS_TEST_*`` variables written by ``make services``."""
        s3 = urlsplit(env["SDS_TEST_S3"])
        return cls(
            kafka=env["SDS_TEST_KAFKA"],
            postgres=env["SDS_TEST_POSTGRES"],
            redis=env["SDS_TEST_REDIS"],
            s3_endpoint=f"{s3.hostname}:{s3.port}",
            s3_access_key=s3.username or "",
            s3_secret_key=s3.password or "",
        )


def read_env_file(path: Path) -> dict[str, str]:
    """Parse a ``KEY=value`` file."""
    values = {}
    for line in path.read_text().splitlines():
        key, sep, value = line.strip().removeprefix("export ").partition("=")
        if sep and not key.startswith("#"):
            values[key] = value.strip("'\"")
    return values


@dataclass
class DistributedStack:
    """Starts and stops the six service processes.

    Args:
        infra: where the servers are.
        namespace: isolates topics, schemas and the bucket (tests use a unique one).
        port_offset: added to every service's port.
        log_dir: one log file per service.
        auth_secret: the gateway's HMAC secret for signed identity headers.
        audit_signing_key: the audit service's key for signing its chain checkpoints.
        webhook_secret_key: the gateway's key for webhook signing secrets at rest.
        extra_env: more variables for every service (e.g. training defaults in tests).
    """

    infra: Infrastructure
    namespace: str = "sds"
    port_offset: int = 0
    log_dir: Path = Path(".services/distributed")
    auth_secret: str = "local-development-secret-change-me"  # noqa: S105 — local stack only
    audit_signing_key: str = "local-development-audit-key-change-me"
    webhook_secret_key: str = "local-development-webhook-key-change-me"  # noqa: S105 — local stack only
    extra_env: Mapping[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict, init=False)

    def port(self, service: str) -> int:
        """HTTP port of a service."""
        return SERVICES[service] + self.port_offset

    @property
    def gateway_url(self) -> str:
        """Base URL of the gateway."""
        return f"http://127.0.0.1:{self.port('gateway')}"

    def env_for(self, service: str) -> dict[str, str]:
        """The environment of one service process."""
        env = {key: value for key, value in os.environ.items() if not key.startswith("SDS_")}
        env.update(
            SDS_RUNTIME="distributed",
            SDS_SERVICE_NAME=service,
            SDS_BUS="kafka",
            SDS_KAFKA_BOOTSTRAP_SERVERS=self.infra.kafka,
            SDS_TOPIC_PREFIX=f"{self.namespace}." if self.namespace != "sds" else "",
            SDS_DATABASE_URL=self.infra.postgres.replace(
                "postgresql://", "postgresql+asyncpg://", 1
            ),
            SDS_DATABASE_SCHEMA=f"{self.namespace}_{service}",
            SDS_STORAGE="s3",
            SDS_S3_ENDPOINT=self.infra.s3_endpoint,
            SDS_S3_ACCESS_KEY=self.infra.s3_access_key,
            SDS_S3_SECRET_KEY=self.infra.s3_secret_key,
            SDS_S3_BUCKET=self.namespace.replace("_", "-").lower(),
            SDS_REDIS_URL=self.infra.redis,
            SDS_HTTP_HOST="127.0.0.1",
            SDS_HTTP_PORT=str(self.port(service)),
            SDS_LOG_FORMAT="json",
            SDS_AUTH_SECRETS=self.auth_secret,
            SDS_AUDIT_SIGNING_KEY=self.audit_signing_key,
            SDS_WEBHOOK_SECRET_KEY=self.webhook_secret_key,
            PYTHONUNBUFFERED="1",
        )
        if service == "gateway":
            # The gateway forwards /api/v1/audit/* and the llm routes to their processes.
            env.update(
                SDS_UPSTREAM_AUDIT_URL=f"http://127.0.0.1:{self.port('audit')}",
                SDS_UPSTREAM_LLM_URL=f"http://127.0.0.1:{self.port('llm')}",
            )
        env.update(self.extra_env)
        return env

    def start(self, *, timeout_s: float = 120.0) -> None:
        """Start every service and wait until each is ready."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for service in SERVICES:
            log = (self.log_dir / f"{service}.log").open("ab")
            self.processes[service] = subprocess.Popen(  # noqa: S603 — our own interpreter and module
                [sys.executable, "-m", f"sds_{service}"],
                env=self.env_for(service),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout_s
        for service in SERVICES:
            self.wait_ready(service, deadline=deadline)

    def wait_ready(self, service: str, *, deadline: float) -> None:
        """Wait until a service answers ``/ready`` with 200."""
        url = f"http://127.0.0.1:{self.port(service)}/ready"
        last = "no answer"
        while time.monotonic() < deadline:
            process = self.processes[service]
            if process.poll() is not None:
                raise RuntimeError(
                    f"{service} exited with {process.returncode}: {self._tail(service)}"
                )
            try:
                response = httpx.get(url, timeout=2.0)
                if response.status_code == 200:
                    return
                last = response.text
            except httpx.TransportError as exc:
                last = type(exc).__name__
            time.sleep(0.25)
        raise TimeoutError(f"{service} not ready: {last}; log: {self._tail(service)}")

    def kill(self, service: str) -> None:
        """SIGKILL one service (failure tests)."""
        process = self.processes[service]
        process.kill()
        process.wait(timeout=30)

    def restart(self, service: str, *, timeout_s: float = 120.0) -> None:
        """Start a (killed) service again and wait until it is ready."""
        log = (self.log_dir / f"{service}.log").open("ab")
        self.processes[service] = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", f"sds_{service}"],
            env=self.env_for(service),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.wait_ready(service, deadline=time.monotonic() + timeout_s)

    def stop(self, *, grace_s: float = 20.0) -> None:
        """SIGTERM every service (graceful shutdown), SIGKILL what remains."""
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for process in self.processes.values():
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        self.processes.clear()

    def log_tail(self, service: str, lines: int = 30) -> str:
        """The last lines of a service's log (for failure messages)."""
        return self._tail(service, lines)

    def _tail(self, service: str, lines: int = 30) -> str:
        path = self.log_dir / f"{service}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def main() -> None:
    """Run the distributed stack until Ctrl-C."""
    env_file = Path(".services/env")
    if not env_file.exists():
        sys.exit("no .services/env: start the servers first with `make services`")
    # The secret in SDS_DATA_DIR/secrets (created once), where the `sds` CLI looks for it.
    stack = DistributedStack(
        infra=Infrastructure.from_env(read_env_file(env_file)), auth_secret=local_stack_secret()
    )
    with stack:
        print(f"distributed stack ready: gateway at {stack.gateway_url} (logs in {stack.log_dir})")  # noqa: T201
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()


if __name__ == "__main__":
    main()
