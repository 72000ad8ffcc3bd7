"""The distributed stack on one machine: every service as its own process on real servers.

``python -m sds_studio.distributed`` (``make up-distributed``) starts the six services against the
Kafka, PostgreSQL, Redis and S3 that ``make services`` runs (addresses from ``.services/env``),
waits until each answers ``/ready``, and keeps them running until SIGINT (Ctrl-C), SIGTERM or
SIGHUP; then it stops every one of them (SIGTERM, SIGKILL after a grace period) before it exits.
The handlers are installed explicitly, so the stack also stops when it was started in the
background (where a shell leaves SIGINT ignored). Each service logs to ``<log dir>/<service>.log``;
the folder is ``--log-dir``, else ``SDS_DISTRIBUTED_LOG_DIR``, else ``.services/distributed``.

The gateway is the one address clients use: it forwards the audit and llm routes to those
services' processes (``SDS_UPSTREAM_*``). The end-to-end tests use ``DistributedStack`` the same
way, with their own topic prefix, schemas and bucket.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType
from typing import Self
from urllib.parse import urlsplit

import httpx

from sds_studio.credentials import local_stack_secret

#: Where service logs go when neither ``--log-dir`` nor ``SDS_DISTRIBUTED_LOG_DIR`` says.
DEFAULT_LOG_DIR = Path(".services/distributed")
#: The signals that stop the stack.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

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


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    """Signal a service's process group (it leads one: ``start_new_session``)."""
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.killpg(process.pid, signum)


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
        program: the command that runs one service, followed by ``sds_<service>``; tests put a
            stand-in here.
    """

    infra: Infrastructure
    namespace: str = "sds"
    port_offset: int = 0
    log_dir: Path = DEFAULT_LOG_DIR
    auth_secret: str = "local-development-secret-change-me"  # noqa: S105 — local stack only
    audit_signing_key: str = "local-development-audit-key-change-me"
    webhook_secret_key: str = "local-development-webhook-key-change-me"  # noqa: S105 — local stack only
    extra_env: Mapping[str, str] = field(default_factory=dict)
    program: Sequence[str] = (sys.executable, "-m")
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict, init=False)
    _interrupted: threading.Event = field(default_factory=threading.Event, init=False)

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
        """Start every service and wait until each is ready.

        Raises:
            InterruptedError: ``interrupt`` was called meanwhile (the processes keep running
                until ``stop``).
        """
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for service in SERVICES:
            self._spawn(service)
        deadline = time.monotonic() + timeout_s
        for service in SERVICES:
            self.wait_ready(service, deadline=deadline)

    def _spawn(self, service: str) -> None:
        with (self.log_dir / f"{service}.log").open("ab") as log:
            # Each in a session of its own: a Ctrl-C in the terminal reaches only this process,
            # which stops the services in order (``stop``), not all of them at once.
            self.processes[service] = subprocess.Popen(  # noqa: S603 — our own interpreter and module
                [*self.program, f"sds_{service}"],
                env=self.env_for(service),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def interrupt(self) -> None:
        """Make a ``start`` in progress give up waiting (safe to call from a signal handler)."""
        self._interrupted.set()

    def wait_ready(self, service: str, *, deadline: float) -> None:
        """Wait until a service answers ``/ready`` with 200."""
        url = f"http://127.0.0.1:{self.port(service)}/ready"
        last = "no answer"
        while time.monotonic() < deadline:
            if self._interrupted.is_set():
                raise InterruptedError(f"interrupted while waiting for {service}")
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
        self._spawn(service)
        self.wait_ready(service, deadline=time.monotonic() + timeout_s)

    def stop(self, *, grace_s: float = 20.0) -> None:
        """SIGTERM every service (graceful shutdown), SIGKILL what remains.

        Each service leads a process group of its own: the signal goes to the whole group, so
        nothing a service started outlives it either.
        """
        for process in self.processes.values():
            if process.poll() is None:
                _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for process in self.processes.values():
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
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


def run_until_signalled(stack: DistributedStack) -> int:
    """Start ``stack``, keep it up until a stop signal, then stop every service.

    SIGINT, SIGTERM and SIGHUP are handled explicitly (a background job inherits SIGINT
    ignored, and Python's default SIGTERM would exit without stopping anything). A signal while
    the services start stops them too.

    Returns:
        The number of the signal that stopped it.
    """
    received: list[int] = []
    stopping = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)
        stopping.set()
        stack.interrupt()

    previous = {signum: signal.signal(signum, on_signal) for signum in STOP_SIGNALS}
    try:
        try:
            stack.start()
        except InterruptedError:
            pass
        else:
            ready = f"gateway at {stack.gateway_url} (logs in {stack.log_dir})"
            print(f"distributed stack ready: {ready}", flush=True)  # noqa: T201
        while not stopping.wait(0.5):
            pass
    finally:
        stack.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return received[0]


def log_dir(argv: Sequence[str] | None = None) -> Path:
    """The service log folder: ``--log-dir``, else ``SDS_DISTRIBUTED_LOG_DIR``, else the default."""
    parser = argparse.ArgumentParser(
        prog="python -m sds_studio.distributed",
        description="Every service as its own process on the servers of `make services`.",
    )
    parser.add_argument(
        "--log-dir",
        type=Path,
        default=Path(os.environ.get("SDS_DISTRIBUTED_LOG_DIR") or DEFAULT_LOG_DIR),
        help="folder of the services' log files (default: $SDS_DISTRIBUTED_LOG_DIR, else "
        f"{DEFAULT_LOG_DIR})",
    )
    folder: Path = parser.parse_args(argv).log_dir
    return folder


def main(argv: Sequence[str] | None = None) -> None:
    """Run the distributed stack until SIGINT, SIGTERM or SIGHUP."""
    folder = log_dir(argv)
    env_file = Path(".services/env")
    if not env_file.exists():
        sys.exit("no .services/env: start the servers first with `make services`")
    # The secret in SDS_DATA_DIR/secrets (created once), where the `sds` CLI looks for it.
    stack = DistributedStack(
        infra=Infrastructure.from_env(read_env_file(env_file)),
        log_dir=folder,
        auth_secret=local_stack_secret(),
    )
    signum = run_until_signalled(stack)
    print(f"stopped every service ({signal.Signals(signum).name})", flush=True)  # noqa: T201


if __name__ == "__main__":
    main()
