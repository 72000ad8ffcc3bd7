"""One measurement of the suite: a table, a method (or the baseline/ceiling) and an ε.

Fits run in their worker subprocess exactly as in ``make bench-peers`` (ours in our venv, each
peer in its own); the synthetic rows are then scored here, all against the same real rows:
SDMetrics' QualityReport (judge venv) against the training rows, the evaluator's validity
(``sds_evaluator.domain.validity.column_validity``) against the training rows, and TSTR/TRTR
(ROC-AUC, or R² for a numeric target) from the evaluator on the test rows.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks import peers
from benchmarks._peers import venvs
from benchmarks._peers.catalogue import Method
from benchmarks._peers.protocol import SYNTHETIC, Result, Spec, read_result, write_spec
from benchmarks._peers.report import align
from benchmarks._suite.tables import Table
from benchmarks.synthesis import Prepared
from sds_common.privacy.policy import default_delta
from sds_common.tables.formats import ColumnFormat
from sds_evaluator.domain import ColumnInfo, EvaluationConfig, evaluate, headline_scores
from sds_evaluator.domain.baseline import independent_baseline
from sds_evaluator.domain.validity import ValidityReport, column_validity

#: Kinds no synthesizer models (ours drop them; the peers get the same columns).
NOT_MODELLED = ("identifier", "text")
#: The suite reports no privacy-risk metric, so the evaluator's distance-based checks run on
#: their smallest sample (they are what costs most on wide tables); fidelity and utility keep
#: the evaluator's defaults.
EVALUATION = EvaluationConfig(max_privacy_rows=10, max_attribute_rows=10)


@dataclass(frozen=True)
class Context:
    """What every measurement of one table shares."""

    table: Table
    prepared: Prepared
    workdir: Path
    train_csv: Path
    declared: dict[str, Any]
    threads: int
    judge: bool
    quick: bool
    built: dict[str, venvs.Built] = field(default_factory=dict)

    @property
    def delta(self) -> float:
        """δ = 1/n^1.5 of the training rows, for every DP method."""
        return default_delta(self.prepared.train_rows)

    def real_train(self) -> pd.DataFrame:
        """The typed training rows."""
        return pd.read_parquet(self.prepared.train_path)

    def real_holdout(self) -> pd.DataFrame:
        """The typed test rows."""
        return pd.read_parquet(self.prepared.holdout_path)

    def modelled(self) -> list[dict[str, Any]]:
        """The columns a synthesizer models (the judge's and the peers' columns)."""
        return [c for c in self.prepared.columns if c["kind"] not in NOT_MODELLED]


@dataclass(frozen=True)
class Measured:
    """One row of the suite's table, or why it has no numbers (``failure``)."""

    table: str
    label: str
    epsilon: float | None
    result: Result | None = None
    quality: dict[str, float] = field(default_factory=dict)
    validity: ValidityReport | None = None
    utility: dict[str, float] = field(default_factory=dict)
    loads: tuple[str, str] = ("", "")
    failure: str | None = None
    capped: bool = False

    @property
    def ok(self) -> bool:
        """True when it was fitted (or sampled) and scored."""
        return self.failure is None

    @property
    def tstr(self) -> float | None:
        """TSTR: ROC-AUC for a categorical target, R² for a numeric one."""
        return self.utility.get("utility_tstr_auc", self.utility.get("utility_tstr_r2"))

    @property
    def trtr(self) -> float | None:
        """TRTR on the same test rows."""
        return self.utility.get("utility_trtr_auc", self.utility.get("utility_trtr_r2"))


def load_now() -> str:
    """The 1/5/15-minute load average, as text."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.1f}/{five:.1f}/{fifteen:.1f}"


def formats(prepared: Prepared) -> dict[str, ColumnFormat | None]:
    """Each column's format from the datasets service's profile, where it records one."""
    profile = json.loads(Path(prepared.train_path).with_name("profile.json").read_text())
    out: dict[str, ColumnFormat | None] = {}
    for entry in profile.get("columns", []):
        raw = entry.get("format")
        out[entry["name"]] = ColumnFormat.model_validate(raw) if isinstance(raw, dict) else None
    return out


def _read_synthetic(path: Path, real: pd.DataFrame) -> pd.DataFrame:
    """The CSV a worker wrote, with the real dtypes, keeping only the columns it holds."""
    synthetic = pd.read_csv(path, keep_default_na=False, na_values=[""])
    present = [c for c in real.columns if c in synthetic.columns]
    return align(synthetic[present], real[present])


def score(
    ctx: Context, synthetic: pd.DataFrame, *, synthetic_csv: Path
) -> tuple[dict[str, float], ValidityReport, dict[str, float]]:
    """SDMetrics (if judging), validity and utility of ``synthetic``."""
    real = ctx.real_train()
    kinds = {str(c["name"]): str(c["kind"]) for c in ctx.prepared.columns}
    validity = column_validity(real, synthetic, kinds=kinds, formats=formats(ctx.prepared))
    modelled = [c for c in ctx.modelled() if c["name"] in synthetic.columns]
    report = evaluate(
        real_train=real,
        real_holdout=ctx.real_holdout(),
        synthetic=synthetic,
        columns=[ColumnInfo(name=c["name"], kind=c["kind"]) for c in modelled],
        target=ctx.table.target,
        seed=0,
        config=EVALUATION,
    )
    utility = {k: v for k, v in headline_scores(report).items() if k.startswith("utility_")}
    quality: dict[str, float] = {}
    if ctx.judge:
        judged = peers.judge_scores(
            real_csv=ctx.train_csv,
            synthetic_csv=synthetic_csv,
            columns=modelled,
            built=ctx.built,
            threads=ctx.threads,
        )
        quality = {k: float(judged[k]) for k in ("quality", "column_shapes", "column_pair_trends")}
    return quality, validity, utility


def fit(
    ctx: Context, method: Method, *, epsilon: float, params: dict[str, Any], timeout_s: float
) -> Measured:
    """Fit ``method`` at ``epsilon`` in its worker, then score its synthetic rows."""
    out_dir = ctx.workdir / f"{method.key}-{epsilon:g}"
    out_dir.mkdir(parents=True, exist_ok=True)
    row = partial(Measured, ctx.table.key, method.label, epsilon)
    try:
        python = peers._worker_python(method, ctx.built)
    except venvs.VenvUnavailableError as exc:
        return row(failure=f"not installed: {exc}")
    columns = ctx.prepared.columns if method.ours else ctx.modelled()
    spec = Spec(
        method=method.name,
        epsilon=epsilon,
        delta=ctx.delta,
        train_path=str(ctx.prepared.train_path if method.ours else ctx.train_csv),
        columns=list(columns),
        out_dir=str(out_dir),
        sample_rows=ctx.prepared.train_rows,
        params=params,
        threads=ctx.threads,
        public_metadata=ctx.declared if method.declared else {},
        target=ctx.table.target,
    )
    write_spec(spec, out_dir / "spec.json")
    peers.LOGS.mkdir(parents=True, exist_ok=True)
    log = peers.LOGS / f"suite-{ctx.table.slug}-{method.key}-{epsilon:g}.log"
    command = [python, "-m", f"benchmarks._peers.{method.worker}", str(out_dir / "spec.json")]
    before = load_now()
    reason = peers._call(command, log=log, timeout_s=timeout_s, threads=ctx.threads)
    loads = (before, load_now())
    if reason is not None:
        capped = "no result within" in reason
        return row(loads=loads, failure=reason, capped=capped)
    result = read_result(out_dir)
    try:
        synthetic = _read_synthetic(out_dir / SYNTHETIC, ctx.real_train())
        quality, validity, utility = score(ctx, synthetic, synthetic_csv=out_dir / SYNTHETIC)
    except (RuntimeError, ValueError, KeyError, venvs.VenvUnavailableError) as exc:
        # One method's unusable output must not cost the run its other rows.
        failure = f"scoring failed: {venvs.one_line(str(exc))}"
        return row(result=result, loads=loads, failure=failure)
    return row(result=result, quality=quality, validity=validity, utility=utility, loads=loads)


def baseline(ctx: Context) -> Measured:
    """The independent-columns baseline (non-DP): every modelled column from its marginal."""
    real = ctx.real_train()
    names = [c["name"] for c in ctx.modelled()]
    started = time.perf_counter()
    synthetic = independent_baseline(real[names], rows=len(real), seed=0)
    seconds = time.perf_counter() - started
    path = ctx.workdir / "baseline.csv"
    synthetic.to_csv(path, index=False)
    quality, validity, utility = score(ctx, synthetic, synthetic_csv=path)
    result = Result(fit_s=seconds, sample_s=0.0, rows=len(synthetic))
    return Measured(
        table=ctx.table.key,
        label="independent columns (baseline, non-DP)",
        epsilon=None,
        result=result,
        quality=quality,
        validity=validity,
        utility=utility,
    )


def ceiling(ctx: Context) -> Measured:
    """The real-holdout ceiling: SDMetrics of the test rows against the training rows."""
    label = "real test rows (ceiling)"
    if not ctx.judge:
        return Measured(table=ctx.table.key, label=label, epsilon=None)
    path = ctx.workdir / "holdout.csv"
    ctx.real_holdout().to_csv(path, index=False)
    judged = peers.judge_scores(
        real_csv=ctx.train_csv,
        synthetic_csv=path,
        columns=ctx.modelled(),
        built=ctx.built,
        threads=ctx.threads,
    )
    quality = {k: float(judged[k]) for k in ("quality", "column_shapes", "column_pair_trends")}
    return Measured(table=ctx.table.key, label=label, epsilon=None, quality=quality)


def flagged(rows: Sequence[Measured]) -> list[str]:
    """Per run, the columns that failed a validity check and why (one line per column)."""
    out = []
    for row in rows:
        if row.validity is None or not row.validity.flags:
            continue
        where = f"{row.table} / {row.label}" + (
            "" if row.epsilon is None else f" / ε={row.epsilon:g}"
        )
        by_column: dict[str, list[str]] = {}
        for flag in row.validity.flags:
            by_column.setdefault(flag.column, []).append(f"{flag.check}: {flag.reason}")
        for column, reasons in by_column.items():
            out.append(f"{where}: `{column}` — {'; '.join(reasons)}")
    return out
