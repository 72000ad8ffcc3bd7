"""Finding 16 of issue 16: ``make up-distributed`` stops every service it started.

SIGTERM to the parent left five services running on ports 8000 to 8005, and a stack started in the
background ignored SIGINT. Here the parent (``run_until_signalled``, what ``main`` runs) starts
six stand-in services; whatever stop signal it gets, none of them may outlive it.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sds_studio.distributed import DEFAULT_LOG_DIR, SERVICES, log_dir

FAKE = Path(__file__).resolve().parents[1] / "support" / "fake_service.py"
DRIVER = """
import sys
from pathlib import Path
from sds_studio.distributed import DistributedStack, Infrastructure, run_until_signalled

infra = Infrastructure(kafka="-", postgres="-", redis="-", s3_endpoint="-", s3_access_key="",
                       s3_secret_key="")
stack = DistributedStack(infra=infra, port_offset=int(sys.argv[1]), log_dir=Path(sys.argv[2]),
                         program=(sys.executable, sys.argv[3]))
sys.exit(0 if run_until_signalled(stack) else 1)
"""


def _port_offset() -> int:
    for offset in range(20_000, 40_000, 10):
        try:
            for port in SERVICES.values():
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port + offset))
        except OSError:
            continue
        return offset
    raise RuntimeError("no free block of ports")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped) is not running.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ", 1)[1].startswith("Z"))


def _start(tmp_path: Path, *, ignore_sigint: bool) -> tuple[subprocess.Popen[bytes], list[int]]:
    logs = tmp_path / "logs"
    # What a shell does to a background job: SIGINT ignored, which a child inherits (and the
    # parent must undo).
    inherited = signal.signal(signal.SIGINT, signal.SIG_IGN) if ignore_sigint else None
    try:
        parent = subprocess.Popen(
            [sys.executable, "-c", DRIVER, str(_port_offset()), str(logs), str(FAKE)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
    finally:
        if inherited is not None:
            signal.signal(signal.SIGINT, inherited)
    assert parent.stdout is not None
    deadline = time.monotonic() + 60
    line = b""
    while b"distributed stack ready" not in line:
        assert time.monotonic() < deadline, "the stack did not start"
        line = parent.stdout.readline()
        assert line or parent.poll() is None, "the parent exited"
    pids = []
    for service in SERVICES:
        text = (logs / f"{service}.log").read_text()
        pids.append(int(re.findall(r"pid (\d+)", text)[0]))
    assert all(_alive(pid) for pid in pids)
    return parent, pids


@pytest.mark.parametrize(
    ("signum", "ignore_sigint"),
    [
        (signal.SIGTERM, False),
        (signal.SIGINT, True),  # started in the background
        (signal.SIGHUP, False),  # its terminal closed
    ],
)
def test_a_stop_signal_stops_every_service(
    tmp_path: Path, signum: signal.Signals, ignore_sigint: bool
) -> None:
    parent, pids = _start(tmp_path, ignore_sigint=ignore_sigint)
    parent.send_signal(signum)
    assert parent.wait(timeout=30) == 0
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [pid for pid in pids if _alive(pid)] == []


def test_the_log_folder_is_the_users_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SDS_DISTRIBUTED_LOG_DIR", raising=False)
    assert log_dir([]) == DEFAULT_LOG_DIR == Path(".services/distributed")
    monkeypatch.setenv("SDS_DISTRIBUTED_LOG_DIR", "/var/log/sds")
    assert log_dir([]) == Path("/var/log/sds")
    assert log_dir(["--log-dir", "logs"]) == Path("logs")
