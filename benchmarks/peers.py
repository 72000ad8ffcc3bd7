"""Peers benchmark (`make bench-peers`): our DP synthesizers against ctgan, smartnoise, mostlyai.

In ONE run on the bundled UCI Adult table (target ``income``), the datasets service's own
pipeline types the columns and makes ONE seeded 80/20 split stratified on the target; then each
method fits the same training rows in its own process:

* ours: every DP synthesizer in the trainer's registry, read at run time, in our venv;
* the peers, each in its own venv (their pins conflict, see :mod:`benchmarks._peers.venvs`): the
  ``ctgan`` package (non-DP, once), smartnoise-synth's DP-CTGAN, MST and AIM, and mostlyai-engine
  with DP (a peer that cannot install gets a row saying why).

Every DP method gets the same ε ∈ ``--epsilons`` and δ = 1/n^1.5 (n = training rows). Per run:
fit seconds; SDMetrics' QualityReport (the outside judge, in its own venv, against the real
training rows); and our evaluator's fidelity, TSTR/TRTR ROC-AUC, DCR share and membership-attack
AUC on the real holdout. The results replace the ``## Peers (make bench-peers)`` section of
``benchmarks/RESULTS.md`` with the targets marked met/missed from the same run.

``--quick`` runs a 1,500-row sample of 8 columns with tiny epochs/rounds (a couple of minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(ROOT))

from benchmarks._peers import venvs  # noqa: E402
from benchmarks._peers.catalogue import (  # noqa: E402
    QUICK_COLUMNS,
    Method,
    Run,
    catalogue,
    params_for,
    select,
)
from benchmarks._peers.notes import render  # noqa: E402
from benchmarks._peers.protocol import SYNTHETIC, Spec, read_result, write_spec  # noqa: E402
from benchmarks._peers.report import Outcome, Setup, align  # noqa: E402
from benchmarks._results import RESULTS, write_section  # noqa: E402
from benchmarks.synthesis import ADULT, TARGET, prepare  # noqa: E402
from sds_common.privacy.policy import default_delta  # noqa: E402
from sds_evaluator.domain import ColumnInfo, evaluate, headline_scores  # noqa: E402
from sds_trainer.domain.synthesizers.ctgan_params import CTGANParams  # noqa: E402
from sds_trainer.domain.synthesizers.registry import SYNTHESIZERS  # noqa: E402

SECTION = "Peers (make bench-peers)"
#: What a data owner can declare about Adult without its rows (sources: data/adult/README.md).
PUBLIC_METADATA = ROOT / "data" / "adult" / "public-metadata.json"
QUICK_ROWS = 1_500
LOGS = ROOT / ".bench" / "logs"


def prepare_quick(source: Path, workdir: Path) -> Path:
    """A 1,500-row sample of :data:`QUICK_COLUMNS` of ``source``, written as a CSV."""
    frame = pd.read_csv(source, dtype=str, keep_default_na=False)
    sample = frame.sample(n=min(QUICK_ROWS, len(frame)), random_state=0)
    path = workdir / "quick.csv"
    sample[list(QUICK_COLUMNS)].to_csv(path, index=False)
    return path


def public_metadata(method: Method, columns: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The declared metadata ``method`` gets, for the ``columns`` the run has (empty: none)."""
    if not method.declared:
        return {}
    declared: dict[str, Any] = json.loads(PUBLIC_METADATA.read_text())
    names = {c["name"] for c in columns}
    return {name: meta for name, meta in declared.items() if name in names}


def _worker_python(method: Method, built: dict[str, venvs.Built]) -> str:
    if method.ours:
        return sys.executable
    if method.venv not in built:
        built[method.venv] = venvs.ensure(venvs.VENVS[method.venv])
    return built[method.venv].python_path


def _call(command: list[str], *, log: Path, timeout_s: float, threads: int) -> str | None:
    """Run a worker; None on success, else a one-line reason."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    env.update({name: str(threads) for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")})
    with log.open("w") as out:
        try:
            done = subprocess.run(
                command,
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return f"failed: no result within {timeout_s:.0f} s"
    if done.returncode == 0:
        return None
    return f"failed: {venvs.one_line(log.read_text())}"


def judge_scores(
    *,
    real_csv: Path,
    synthetic_csv: Path,
    columns: Sequence[dict[str, Any]],
    built: dict[str, venvs.Built],
    threads: int,
) -> dict[str, Any]:
    """SDMetrics' QualityReport of ``synthetic_csv`` against ``real_csv``: overall and properties.

    Returns the judge's dict: ``quality``, ``column_shapes``, ``column_pair_trends``, seconds.
    """
    if "judge" not in built:
        built["judge"] = venvs.ensure(venvs.VENVS["judge"])
    stem = synthetic_csv.stem
    spec_path = synthetic_csv.with_name(f"{stem}-judge.json")
    out = synthetic_csv.with_name(f"{stem}-judge-result.json")
    spec = {
        "real_csv": str(real_csv),
        "synthetic_csv": str(synthetic_csv),
        "columns": list(columns),
        "out_json": str(out),
        "threads": threads,
    }
    spec_path.write_text(json.dumps(spec))
    command = [built["judge"].python_path, "-m", "benchmarks._peers.judge_worker", str(spec_path)]
    log = synthetic_csv.with_name(f"{stem}-judge.log")
    reason = _call(command, log=log, timeout_s=1800, threads=threads)
    if reason is not None:
        raise RuntimeError(f"SDMetrics judge {reason}")
    scores: dict[str, Any] = json.loads(out.read_text())
    return scores


def judge(setup: Setup, synthetic_csv: Path, built: dict[str, venvs.Built]) -> float:
    """SDMetrics' QualityReport score of ``synthetic_csv`` against the real training rows."""
    scores = judge_scores(
        real_csv=setup.train_csv,
        synthetic_csv=synthetic_csv,
        columns=setup.prepared.columns,
        built=built,
        threads=setup.threads,
    )
    return float(scores["quality"])


def score(setup: Setup, run: Run, synthetic: pd.DataFrame, spent: float | None) -> dict[str, float]:
    """Our evaluator's headline scores of ``synthetic`` (on the real holdout)."""
    real_train = pd.read_parquet(setup.prepared.train_path)
    privacy = None
    if run.epsilon is not None:
        claimed = spent if spent is not None else run.epsilon
        privacy = {"epsilon": claimed, "delta": setup.delta, "mechanism": run.label}
    report = evaluate(
        real_train=real_train,
        real_holdout=pd.read_parquet(setup.prepared.holdout_path),
        synthetic=align(synthetic, real_train),
        columns=[ColumnInfo(name=c["name"], kind=c["kind"]) for c in setup.prepared.columns],
        target=TARGET,
        privacy=privacy,
        seed=0,
    )
    return headline_scores(report)


def measure(setup: Setup, run: Run, built: dict[str, venvs.Built]) -> Outcome:
    """Fit, sample, evaluate and judge one run; a failure becomes the outcome's reason."""
    method = run.method
    out_dir = setup.workdir / f"{method.key}-{run.epsilon}"
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        python = _worker_python(method, built)
    except venvs.VenvUnavailableError as exc:
        return Outcome(run, failure=f"not installed: {exc}")
    spec = Spec(
        method=method.name,
        epsilon=run.epsilon,
        delta=setup.delta if run.epsilon is not None else None,
        train_path=str(setup.prepared.train_path if method.ours else setup.train_csv),
        columns=setup.prepared.columns,
        out_dir=str(out_dir),
        sample_rows=setup.prepared.train_rows,
        params=params_for(run, quick=setup.quick, epochs=setup.epochs, batch_size=setup.batch_size),
        threads=setup.threads,
        public_metadata=public_metadata(method, setup.prepared.columns),
        target=TARGET,
    )
    write_spec(spec, out_dir / "spec.json")
    LOGS.mkdir(parents=True, exist_ok=True)
    log = LOGS / f"peers-{method.key}-{run.epsilon}.log"
    command = [python, "-m", f"benchmarks._peers.{method.worker}", str(out_dir / "spec.json")]
    reason = _call(command, log=log, timeout_s=setup.timeout_s, threads=setup.threads)
    if reason is not None:
        return Outcome(run, failure=reason)
    result = read_result(out_dir)
    synthetic_csv = out_dir / SYNTHETIC
    synthetic = pd.read_csv(synthetic_csv, keep_default_na=False, na_values=[""])
    try:
        scores = score(setup, run, synthetic, result.epsilon_spent)
        quality = judge(setup, synthetic_csv, built) if setup.judge else None
    except (RuntimeError, ValueError, venvs.VenvUnavailableError) as exc:
        # One method's unusable output must not cost the hour-long run its other rows.
        return Outcome(run, result=result, failure=f"scoring failed: {venvs.one_line(str(exc))}")
    return Outcome(run, result=result, scores=scores, quality=quality)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line flags."""
    defaults = CTGANParams()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--methods",
        default="all",
        help="comma list of method keys or groups (all, ours, peers, smartnoise)",
    )
    parser.add_argument("--epsilons", default="1,3", help="comma list of ε for the DP methods")
    parser.add_argument("--quick", action="store_true", help="small sample, tiny epochs/rounds")
    parser.add_argument("--threads", type=int, default=1, help="torch/BLAS threads per worker")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per fit")
    parser.add_argument("--no-write", action="store_true", help="print only, keep RESULTS.md")
    parser.add_argument(
        "--no-judge", action="store_true", help="skip SDMetrics (no judge venv is built)"
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help=argparse.SUPPRESS)
    parser.add_argument("--epochs", type=int, default=defaults.epochs, help=argparse.SUPPRESS)
    parser.add_argument(
        "--batch-size", type=int, default=defaults.batch_size, help=argparse.SUPPRESS
    )
    return parser.parse_args(argv)


def run_all(
    runs: Sequence[Run], setup: Setup, *, report: Callable[[list[Outcome], dict[str, Any]], None]
) -> tuple[list[Outcome], dict[str, venvs.Built]]:
    """Measure every run in order, calling ``report`` after each; the venvs used, by name."""
    built: dict[str, venvs.Built] = {}
    outcomes: list[Outcome] = []
    for run in runs:
        started = time.perf_counter()
        outcome = measure(setup, run, built)
        outcomes.append(outcome)
        status = "ok" if outcome.ok else outcome.failure
        elapsed = time.perf_counter() - started
        print(f"{run.label} ε={run.epsilon}: {status} in {elapsed:.0f} s", flush=True)
        report(outcomes, {"built": built, "pending": len(runs) - len(outcomes)})
    return outcomes, built


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.1f} / {five:.1f} / {fifteen:.1f}"


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark, print the section and write it to RESULTS.md."""
    args = parse_args(argv)
    epsilons = [float(e) for e in args.epsilons.split(",") if e.strip()]
    runs = select(args.methods, methods=catalogue(SYNTHESIZERS), epsilons=epsilons)
    if not runs:
        raise SystemExit("no method selected")
    load_start = _load()
    with tempfile.TemporaryDirectory(prefix="sds-bench-peers-") as tmp:
        workdir = Path(tmp)
        source = prepare_quick(ADULT, workdir) if args.quick else ADULT
        prepared = prepare(source, workdir)
        train_csv = workdir / "train.csv"
        pd.read_parquet(prepared.train_path).to_csv(train_csv, index=False)
        setup = Setup(
            prepared=prepared,
            train_csv=train_csv,
            delta=default_delta(prepared.train_rows),
            workdir=workdir,
            threads=args.threads,
            quick=args.quick,
            timeout_s=args.timeout,
            epochs=args.epochs,
            batch_size=args.batch_size,
            judge=not args.no_judge,
        )

        def report(done: list[Outcome], state: dict[str, Any]) -> None:
            # Rewritten after every run, so a run cut short still leaves its rows.
            if not args.no_write and state["pending"]:
                body = render(
                    done,
                    setup=setup,
                    built=state["built"],
                    loads=(load_start, _load()),
                    pending=state["pending"],
                )
                write_section(SECTION, body, path=args.results)

        outcomes, built = run_all(runs, setup, report=report)
    body = render(outcomes, setup=setup, built=built, loads=(load_start, _load()))
    print(body)
    if not args.no_write:
        write_section(SECTION, body, path=args.results)


if __name__ == "__main__":
    main()
