"""The ``sds`` command line as a user types it: real processes, their real output.

``sds up`` takes its folder and address from the documented variables; the client commands
find the local studio's secret in its data folder, wait for jobs when asked (and ``download``
waits for rows still being generated); ``sds demo`` prints its results and nothing else (the log,
library warnings included, goes to a file).
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx
import pandas as pd
import pytest

from tests.e2e.conftest import E2E_ROWS, Studio, free_port

pytestmark = pytest.mark.slow

SDS = str(Path(sys.executable).with_name("sds"))
#: What a library warning or the nanobind leak dump prints when it reaches a terminal.
NOISE = ("Warning", "warnings.warn", "nanobind", "leaked")


def _env(**values: str) -> dict[str, str]:
    """This process's environment without any SDS_ setting, plus ``values``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SDS_")}
    env.update(values)
    return env


async def _sh(command: str, *, env: Mapping[str, str], cwd: Path) -> tuple[int, str, str]:
    """Run one shell line without blocking the event loop (the studio serves in this loop)."""
    process = await asyncio.create_subprocess_shell(
        command,
        env=dict(env),
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        stdin=asyncio.subprocess.DEVNULL,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=240)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def _assert_quiet(*outputs: str) -> None:
    for output in outputs:
        for word in NOISE:
            assert word not in output, output


@contextmanager
def _running(
    command: list[str], *, env: Mapping[str, str], cwd: Path
) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        command,
        env=dict(env),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def test_sds_up_serves_on_the_port_and_in_the_folder_of_the_environment(tmp_path: Path) -> None:
    port, data_dir = free_port(), tmp_path / "studio-data"
    env = _env(SDS_HTTP_PORT=str(port), SDS_DATA_DIR=str(data_dir))
    with _running([SDS, "up"], env=env, cwd=tmp_path) as process:
        deadline, health = time.monotonic() + 180, None
        while time.monotonic() < deadline:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert health is not None, "sds up did not answer on SDS_HTTP_PORT"
        assert health.status_code == 200
        # The studio keeps its databases and its secret in SDS_DATA_DIR, nowhere else.
        assert (data_dir / "db" / "gateway.sqlite").exists()
        assert (data_dir / "secrets").is_dir()
        assert not (tmp_path / ".sds").exists()
    out, err = process.communicate()
    assert f"http://127.0.0.1:{port}" in out
    assert str(data_dir) in out
    # Standard error is the studio's log: JSON records only, never a bare warning.
    for line in err.splitlines():
        if line.strip():
            assert isinstance(json.loads(line), dict), line


async def test_sample_then_download_in_one_line(
    studio: Studio, small_adult: Path, tmp_path: Path
) -> None:
    # The `studio` fixture keeps its data (and secret) in tmp_path / "studio": the CLI finds the
    # secret there through SDS_DATA_DIR, as it would for `sds up`.
    env = _env(SDS_URL=studio.url, SDS_DATA_DIR=str(tmp_path / "studio"))
    code, out, err = await _sh(
        f"{SDS} upload {shlex.quote(str(small_adult))} --target income --wait",
        env=env,
        cwd=tmp_path,
    )
    assert code == 0, err
    dataset = json.loads(out)
    assert (dataset["status"], dataset["n_rows"]) == ("ready", E2E_ROWS)

    code, out, err = await _sh(
        f"{SDS} train {dataset['id']} --epsilon 1 --wait", env=env, cwd=tmp_path
    )
    assert code == 0, err
    generator = json.loads(out)
    assert generator["status"] == "succeeded"
    assert 0 < generator["epsilon"] <= 1.0
    assert "ModelTrained" in err  # the progress display named the job's events

    # Not a terminal: `sample` answers with the queued sample at once, and `download` waits for
    # it if it is not generated yet (tests/unit/test_cli_download.py holds it queued to show it).
    parse_id = (
        f"{shlex.quote(sys.executable)} -c \"import json,sys; print(json.load(sys.stdin)['id'])\""
    )
    code, out, err = await _sh(
        f"sid=$({SDS} sample {generator['id']} --rows 700 --seed 3 | {parse_id})"
        f' && {SDS} download "$sid" --out rows.csv',
        env=env,
        cwd=tmp_path,
    )
    assert code == 0, err
    assert len(pd.read_csv(tmp_path / "rows.csv")) == 700
    _assert_quiet(out, err)

    # Without rows, a sample has as many as the uploaded table.
    code, out, err = await _sh(f"{SDS} sample {generator['id']} --wait", env=env, cwd=tmp_path)
    assert code == 0, err
    assert json.loads(out)["rows"] == E2E_ROWS


async def test_download_of_an_unknown_sample_fails_clearly(studio: Studio, tmp_path: Path) -> None:
    env = _env(SDS_URL=studio.url, SDS_DATA_DIR=str(tmp_path / "studio"))
    code, out, err = await _sh(
        f"{SDS} download 00000000-0000-4000-8000-000000000000", env=env, cwd=tmp_path
    )
    assert code == 1
    assert "404" in out + err
    assert not (tmp_path / "synthetic.csv").exists()


def test_the_demo_prints_its_results_and_no_warning(small_adult: Path, tmp_path: Path) -> None:
    env = _env(SDS_DATA_DIR=str(tmp_path / "data"))
    result = subprocess.run(
        [SDS, "demo", "--data", str(small_adult), "--out", str(tmp_path / "out")],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "differential privacy" in result.stdout
    assert (tmp_path / "out" / "synthetic.csv").exists()
    _assert_quiet(result.stdout, result.stderr)
    # The log went to SDS_DATA_DIR/demo/logs/demo.log.
    assert (
        "Application startup complete"
        in (tmp_path / "data" / "demo" / "logs" / "demo.log").read_text()
    )
