"""What the orchestrator and a worker exchange: a JSON spec in, a synthetic CSV and a result out.

Shared by ``benchmarks/peers.py`` (our venv) and every worker (a peer's venv), so it imports only
the standard library and pandas. A worker reads ``spec.json``, loads ``train.csv`` with the
column kinds, fits, times the fit alone, samples ``sample_rows`` rows and writes
``synthetic.csv`` and ``result.json`` into ``out_dir``.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pandas as pd

SYNTHETIC = "synthetic.csv"
RESULT = "result.json"
#: Variables that cap the BLAS/OpenMP/XLA thread pools; set before any peer library is imported.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


@dataclass(frozen=True)
class Spec:
    """One fit: the method as the worker names it, the DP target, the data and the output folder.

    Attributes:
        method: the worker's name for the model (e.g. ``"aim"`` for smartnoise's AIM).
        epsilon: the ε target of the whole release; None trains without DP.
        delta: the δ target; None without DP.
        train_path: the real training rows (CSV; our own worker also reads parquet).
        columns: ``{"name", "kind"}`` per column, kinds as the datasets pipeline typed them.
        out_dir: where ``synthetic.csv`` and ``result.json`` go.
        sample_rows: rows to generate.
        params: worker-specific settings (epochs, batch size, ...).
        seed: seeds the peer's random generators.
        threads: torch/BLAS threads of the worker.
        public_metadata: declared public bounds/categories per column, in the trainer's
            ``params.public_metadata`` form (our synthesizers only; empty: none declared).
        target: the table's declared target column (ours use it as the trainer does, through
            ``with_target``; the peers have no such setting).
    """

    method: str
    epsilon: float | None
    delta: float | None
    train_path: str
    columns: list[dict[str, Any]]
    out_dir: str
    sample_rows: int
    params: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    threads: int = 1
    public_metadata: dict[str, Any] = field(default_factory=dict)
    target: str | None = None

    @property
    def numeric(self) -> list[str]:
        """Names of the numeric columns."""
        return [c["name"] for c in self.columns if c["kind"] == "numeric"]

    @property
    def categorical(self) -> list[str]:
        """Names of the other modelled columns (categorical and boolean)."""
        return [c["name"] for c in self.columns if c["kind"] in ("categorical", "boolean")]


@dataclass(frozen=True)
class Result:
    """What a worker measured.

    Attributes:
        fit_s: seconds of the fit alone (preprocessing included, sampling excluded).
        sample_s: seconds to generate ``rows`` rows.
        rows: rows generated.
        epsilon_spent: ε the method reports having spent (None: not reported or not DP).
        versions: package → version inside the worker's environment.
        notes: facts about how the method was run (settings, generation mode).
        peak_rss_mib: the worker process's peak resident memory (fit and sample), set by
            :func:`worker_main`.
    """

    fit_s: float
    sample_s: float
    rows: int
    epsilon_spent: float | None = None
    versions: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    peak_rss_mib: float | None = None


def write_spec(spec: Spec, path: Path) -> None:
    """Save ``spec`` as JSON at ``path``."""
    path.write_text(json.dumps(asdict(spec), indent=1))


def read_spec(path: Path) -> Spec:
    """Load a spec saved by :func:`write_spec`."""
    return Spec(**json.loads(path.read_text()))


def write_result(spec: Spec, result: Result) -> None:
    """Save the worker's result into ``spec.out_dir``."""
    (Path(spec.out_dir) / RESULT).write_text(json.dumps(asdict(result), indent=1))


def read_result(out_dir: Path) -> Result:
    """Load the result a worker wrote into ``out_dir``."""
    return Result(**json.loads((out_dir / RESULT).read_text()))


def load_table(path: Path | str, columns: list[dict[str, Any]]) -> pd.DataFrame:
    """Read a CSV with the declared kinds: numbers as floats, datetimes parsed, the rest as text.

    Missing values stay missing (NaN/NaT/None); unparsable numbers and datetimes become missing.
    """
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    out = pd.DataFrame(index=frame.index)
    for column in columns:
        name = column["name"]
        values = frame[name] if name in frame else pd.Series(pd.NA, index=frame.index)
        if column["kind"] == "numeric":
            out[name] = pd.to_numeric(values, errors="coerce").astype("float64")
        elif column["kind"] == "datetime":
            out[name] = pd.to_datetime(values, errors="coerce", format="ISO8601")
        else:
            out[name] = values.astype(object).where(values.notna(), None)
    return out


def save_synthetic(spec: Spec, frame: pd.DataFrame) -> None:
    """Write the generated rows as ``synthetic.csv`` into ``spec.out_dir``."""
    frame.to_csv(Path(spec.out_dir) / SYNTHETIC, index=False)


def package_versions(*names: str) -> dict[str, str]:
    """Installed versions of ``names`` (``"missing"`` for absent ones)."""
    out = {}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "missing"
    return out


def limit_threads(threads: int) -> None:
    """Cap the native thread pools; call before importing numpy-heavy peer libraries."""
    for variable in THREAD_VARIABLES:
        os.environ[variable] = str(threads)
    os.environ["XLA_FLAGS"] = (
        f"--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads={threads}"
    )


@contextmanager
def stopwatch() -> Iterator[list[float]]:
    """Seconds spent in the block, in ``[0]`` of the yielded list once it exits."""
    elapsed = [float("nan")]
    start = time.perf_counter()
    try:
        yield elapsed
    finally:
        elapsed[0] = time.perf_counter() - start


def worker_main(run: Callable[[Spec], Result], argv: list[str] | None = None) -> None:
    """Entry point of a worker: ``python -m benchmarks._peers.X SPEC.json``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        raise SystemExit("usage: python -m benchmarks._peers.<worker> SPEC.json")
    spec = read_spec(Path(args[0]))
    limit_threads(spec.threads)
    Path(spec.out_dir).mkdir(parents=True, exist_ok=True)
    result = run(spec)
    # ru_maxrss is in KiB on Linux: the whole worker's peak (imports, fit and sample).
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    write_result(spec, replace(result, peak_rss_mib=peak))
