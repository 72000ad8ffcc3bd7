"""Servers a fault test may stop: a private Kafka broker, and a cuttable TCP proxy.

The servers ``make services`` runs are shared by everyone on the machine and must never be
stopped. A test that needs a broker outage starts a Kafka of its own (same jars, its own ports
and folder) and stops that; a test that needs a database outage puts a ``TcpProxy`` in front of
the shared PostgreSQL and cuts the proxy: the clients' connections are reset and new ones
refused, exactly what they see when the server goes away, and the server itself is untouched.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts" / "services"


def free_port() -> int:
    """A TCP port free on the loopback interface now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TcpProxy:
    """Forwards ``127.0.0.1:port`` to ``target`` until cut; runs its own event loop thread.

    ``cut()`` closes every forwarded connection and refuses new ones (the listening socket is
    closed); ``restore()`` listens again on the same port.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    def __enter__(self) -> TcpProxy:
        self._thread.start()
        self.restore()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def _run(self, coroutine: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    def restore(self) -> None:
        """Accept connections (again)."""
        self._run(self._listen())

    def cut(self) -> None:
        """Reset every connection and refuse new ones, like a server that went away."""
        self._run(self._close())

    async def _listen(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(
                self._forward, "127.0.0.1", self.port, reuse_address=True
            )

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            # An abort, not a close: the peer sees a reset connection, as when a server dies.
            writer.transport.abort()
        self._writers.clear()

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )
        self._writers.difference_update((writer, up_writer))

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            with contextlib.suppress(Exception):
                writer.close()


def kafka_jars() -> Path | None:
    """The Kafka jars (``scripts/services/kafka.sh prepare`` fetches them once), or None."""
    if shutil.which("java") is None or shutil.which("flock") is None:
        return None
    lib = ROOT / ".services" / "lib" / "kafka"
    if not (lib / ".complete").exists():
        # The same machine-wide lock as `make services`: Maven's ~/.m2 takes one writer.
        lock = Path(os.environ.get("TMPDIR", "/tmp")) / "sds-services-provision.lock"
        subprocess.run(
            ["flock", "-o", str(lock), str(SCRIPTS / "kafka.sh"), "prepare"],
            check=False,
            capture_output=True,
            timeout=600,
        )
    return lib if (lib / ".complete").exists() else None


class PrivateKafka:
    """A single-node KRaft broker in ``folder`` on free ports, that a test may stop and restart.

    Args:
        folder: its configuration, data and log (kept across ``stop``/``start``).
        jars: the Kafka class path folder (see :func:`kafka_jars`).
    """

    def __init__(self, folder: Path, *, jars: Path) -> None:
        self.folder = folder
        self.jars = jars
        self.port = free_port()
        self.controller_port = free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.log = folder / "kafka.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._configure()

    def _configure(self) -> None:
        data = self.folder / "data"
        data.mkdir(parents=True, exist_ok=True)
        settings = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "listeners": (
                f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}"
            ),
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(data),
            "num.partitions": "3",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "10",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "10",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "num.network.threads": "2",
            "num.io.threads": "2",
        }
        self.config = self.folder / "server.properties"
        self.config.write_text("".join(f"{key}={value}\n" for key, value in settings.items()))
        self._java(
            "kafka.tools.StorageTool", "format", "-t", _cluster_id(), "-c", str(self.config)
        ).wait(timeout=120)

    def _java(self, *args: str) -> subprocess.Popen[bytes]:
        with self.log.open("ab") as log:
            return subprocess.Popen(
                [
                    "java",
                    "-Xms128m",
                    "-Xmx384m",
                    f"-Dlog4j2.configurationFile={SCRIPTS / 'conf' / 'kafka-log4j2.properties'}",
                    "-cp",
                    f"{self.jars}/*",
                    *args,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def start(self, *, timeout_s: float = 120.0) -> None:
        """Start the broker (again) and wait until it serves metadata."""
        self._process = self._java("kafka.Kafka", str(self.config))
        deadline = time.monotonic() + timeout_s
        while not self.answers():
            if self._process.poll() is not None:
                raise RuntimeError(f"Kafka exited: {self.log.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"Kafka did not answer: {self.log.read_text()[-2000:]}")
            time.sleep(0.25)

    def answers(self) -> bool:
        """Whether the broker answers a metadata request now."""
        probe = subprocess.run(
            ["python3", str(SCRIPTS / "probe.py"), "kafka", self.bootstrap],
            check=False,
            capture_output=True,
        )
        return probe.returncode == 0

    def stop(self, *, timeout_s: float = 60.0) -> None:
        """Stop the broker (SIGTERM, SIGKILL after ``timeout_s``)."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _cluster_id() -> str:
    import base64  # noqa: PLC0415

    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
