"""One virtual environment per peer under ``.bench/venvs/<name>`` (the peers' pins conflict).

Each is made with ``uv venv --python <version>`` and ``uv pip install -r
benchmarks/_peers/requirements/<name>.txt`` (fully pinned by ``uv pip compile``; uv's cache makes a
rebuild take seconds). A build record ``sds-build.json`` beside it keeps how it was built; a venv
whose record matches the requirement file's hash and whose probe import works is reused.

Python versions: every peer runs on 3.11 (our workspace's version). smartnoise-synth 1.0.8 needs
Python ≥ 3.10 and pins opacus 0.14 (against our 1.6); mostlyai-engine 2.7.3 pins torch < 2.14
(ours is 2.15); the ctgan and smartnoise venvs take our torch 2.15.0.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = Path(__file__).resolve().parent / "requirements"
VENV_ROOT = ROOT / ".bench" / "venvs"
RECORD = "sds-build.json"


@dataclass(frozen=True)
class VenvSpec:
    """How to build one venv: Python version, pinned requirements and an import that proves it."""

    name: str
    python: str
    probe: str

    @property
    def requirements(self) -> Path:
        """The pinned requirement file."""
        return REQUIREMENTS / f"{self.name}.txt"


@dataclass(frozen=True)
class Built:
    """A usable venv and how it was built."""

    name: str
    python_path: str
    python_version: str
    requirements: str
    requirements_sha256: str
    uv: str
    build_s: float
    built_at: str
    reused: bool = False

    def describe(self) -> str:
        """One line for the notes."""
        how = "reused, built" if self.reused else "built"
        return (
            f"`{self.name}`: Python {self.python_version}, `uv pip install -r "
            f"{self.requirements}` ({how} {self.built_at} in {self.build_s:.0f} s with "
            f"{self.uv.split(' (')[0]})"
        )


class VenvUnavailableError(Exception):
    """A venv could not be built or does not import its peer; ``str()`` is a one-line reason."""


VENVS: dict[str, VenvSpec] = {
    "ctgan": VenvSpec("ctgan", "3.11", "import ctgan"),
    "smartnoise": VenvSpec("smartnoise", "3.11", "import snsynth, mbi, opacus"),
    "mostlyai": VenvSpec("mostlyai", "3.11", "from mostlyai import engine"),
    "judge": VenvSpec("judge", "3.11", "from sdmetrics.reports.single_table import QualityReport"),
}


def one_line(text: str, *, limit: int = 200) -> str:
    """The most telling line of a tool's error output, shortened to ``limit`` characters.

    Prefers the last line that names an error; otherwise the last non-empty line.
    """
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return "no error output"
    named = [line for line in lines if "error" in line.lower() or "because" in line.lower()]
    line = (named or lines)[-1]
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _sha256(path: Path) -> str:
    """Hash of the pins alone: editing a comment does not rebuild a venv."""
    pins = [line.strip() for line in path.read_text().splitlines()]
    kept = "\n".join(line for line in pins if line and not line.startswith("#"))
    return hashlib.sha256(kept.encode()).hexdigest()


def uv() -> str:
    """The uv to build venvs with: ``$UV`` (the Makefile's), else ``uv`` on PATH, else the one
    ``scripts/uv.sh`` finds or bootstraps (a fresh login's PATH has none)."""
    found = os.environ.get("UV") or shutil.which("uv")
    if found:
        return found
    done = subprocess.run(
        [str(ROOT / "scripts" / "uv.sh")], capture_output=True, text=True, check=False, cwd=ROOT
    )
    if done.returncode != 0 or not done.stdout.strip():
        raise VenvUnavailableError(f"no uv: scripts/uv.sh failed: {one_line(done.stderr)}")
    return done.stdout.strip().splitlines()[-1]


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)


def _python_version(python: Path) -> str:
    done = _run([str(python), "-c", "import platform; print(platform.python_version())"])
    return done.stdout.strip() or "unknown"


def _probe(spec: VenvSpec, python: Path) -> None:
    done = _run([str(python), "-c", spec.probe])
    if done.returncode != 0:
        raise VenvUnavailableError(f"`{spec.probe}` fails: {one_line(done.stderr)}")


def ensure(spec: VenvSpec, *, root: Path = VENV_ROOT) -> Built:
    """The venv of ``spec``, built (or rebuilt) when missing or out of date.

    Raises:
        VenvUnavailableError: uv could not make the venv or install the pins, or the probe fails.
    """
    home = root / spec.name
    python = home / "bin" / "python"
    record = home / RECORD
    sha = _sha256(spec.requirements)
    if record.exists() and python.exists():
        built = Built(**{**json.loads(record.read_text()), "reused": True})
        if built.requirements_sha256 == sha:
            _probe(spec, python)
            return built
    started = time.perf_counter()
    steps = [
        [uv(), "venv", "--clear", "--quiet", "--python", spec.python, str(home)],
        [uv(), "pip", "install", "--quiet", "--python", str(python), "-r", str(spec.requirements)],
    ]
    for command in steps:
        done = _run(command)
        if done.returncode != 0:
            raise VenvUnavailableError(f"`{' '.join(command[:3])}` failed: {one_line(done.stderr)}")
    _probe(spec, python)
    built = Built(
        name=spec.name,
        python_path=str(python),
        python_version=_python_version(python),
        requirements=str(spec.requirements.relative_to(ROOT)),
        requirements_sha256=sha,
        uv=_run([uv(), "--version"]).stdout.strip(),
        build_s=time.perf_counter() - started,
        built_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
    record.write_text(json.dumps(asdict(built), indent=1))
    return built
