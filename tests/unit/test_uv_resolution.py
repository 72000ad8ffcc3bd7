"""The README's two commands find uv by themselves, whatever the caller's PATH (issue: newcomer).

A fresh login shell has no ``~/.local/bin`` on its PATH and usually no uv at all; the Makefile
resolves uv through ``scripts/uv.sh`` (PATH, ``~/.local/bin``, or a venv of its own), never
through the caller's shell. These tests run that resolution with such a PATH.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FRESH_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _fake_uv(folder: Path, *, version: str = "0.13.10") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    uv = folder / "uv"
    uv.write_text(f'#!/bin/sh\necho "uv {version}"\n')
    uv.chmod(uv.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return uv


def _make_n(target: str, *, home: Path, extra: dict[str, str] | None = None) -> str:
    env = {"HOME": str(home), "PATH": FRESH_PATH, **(extra or {})}
    done = subprocess.run(
        ["make", "-s", "-n", target],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize("target", ["demo", "test", "up-embedded", "up-distributed"])
def test_make_finds_a_user_install_that_is_not_on_path(tmp_path: Path, target: str) -> None:
    uv = _fake_uv(tmp_path / ".local" / "bin")
    assert str(uv.parent) not in FRESH_PATH.split(":")
    line = _make_n(target, home=tmp_path)
    assert line.startswith(f"{uv} run --frozen "), line


def test_an_old_uv_that_cannot_read_the_lock_is_passed_over(tmp_path: Path) -> None:
    _fake_uv(tmp_path / ".local" / "bin", version="0.4.0")
    found = re.search(r"SDS_UV_VERSION:-([0-9.]+)", (ROOT / "scripts" / "uv.sh").read_text())
    assert found is not None
    version = found.group(1)
    cached = _fake_uv(tmp_path / ".cache" / "sds-studio" / f"uv-{version}" / "bin")
    line = _make_n("demo", home=tmp_path)
    assert line.startswith(f"{cached} run "), line


def test_an_explicit_uv_wins(tmp_path: Path) -> None:
    _fake_uv(tmp_path / ".local" / "bin")
    explicit = _fake_uv(tmp_path / "chosen")
    line = _make_n("test", home=tmp_path, extra={"SDS_UV": str(explicit)})
    assert line.startswith(f"{explicit} run "), line


def test_uv_is_bootstrapped_into_a_venv_of_its_own_when_none_exists(tmp_path: Path) -> None:
    # No uv on the PATH nor in ~/.local/bin: the script installs one into a venv of its own,
    # under the cache folder (the real one, so a second run of this test reuses it), with the
    # first python3 on the fresh PATH, which may be an externally managed system Python.
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    line = _make_n("test", home=tmp_path, extra={"XDG_CACHE_HOME": str(cache)})
    uv_path = Path(line.split(" ", 1)[0])
    assert uv_path.is_relative_to(cache / "sds-studio"), line
    assert os.access(uv_path, os.X_OK)
    assert subprocess.run([uv_path, "--version"], capture_output=True, check=True).returncode == 0


def test_a_python_on_path_that_does_not_run_is_passed_over(tmp_path: Path) -> None:
    # pyenv puts a shim for every installed python3.X on PATH; the ones not selected fail
    # ("pyenv: python3.13: command not found"). The bootstrap takes the first that runs.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in (
        ("python3.13", 'echo "pyenv: python3.13: command not found" >&2; exit 127'),
        ("python3.12", "exit 127"),
        # Runs (answers the probe), then fails to make the venv: the script stops there and
        # names the interpreter it chose, with no download.
        ("python3.11", '[ "$1" = "-c" ] && exit 0; exit 1'),
    ):
        script = bin_dir / name
        script.write_text(f"#!/bin/sh\n{body}\n")
        script.chmod(0o755)
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "uv.sh")],
        env={
            "HOME": str(tmp_path),
            "XDG_CACHE_HOME": str(tmp_path / "cache"),
            "PATH": f"{bin_dir}:/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert f"{bin_dir / 'python3.11'} is untouched" in done.stderr, done.stderr
    assert f"'{bin_dir / 'python3.11'} -m venv' failed" in done.stderr, done.stderr
