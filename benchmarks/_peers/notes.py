"""The ``## Peers (make bench-peers)`` section: machine facts, the table, targets and notes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from benchmarks._peers.report import (
    AIM_FIT_RATIO,
    DPCTGAN_QUALITY,
    TARGET_QUALITY,
    TARGET_TSTR,
    Outcome,
    Setup,
    table,
    targets,
)
from benchmarks._peers.venvs import Built
from benchmarks._results import machine_facts


def _versions(outcomes: Sequence[Outcome]) -> list[str]:
    """One line per environment with the versions its worker reported."""
    seen: dict[str, str] = {}
    for o in outcomes:
        if o.result is not None and o.run.method.venv not in seen:
            packages = ", ".join(f"{k} {v}" for k, v in o.result.versions.items())
            seen[o.run.method.venv] = packages
    return [f"`{venv}` venv: {packages}" for venv, packages in seen.items()]


def _run_notes(outcomes: Sequence[Outcome]) -> list[str]:
    """The settings each run reported, once per method unless they differ between its runs."""
    seen: set[tuple[str, str]] = set()
    out = []
    for o in outcomes:
        if o.result is None or not o.result.notes:
            continue
        text = "; ".join(o.result.notes)
        if (o.run.method.key, text) not in seen:
            seen.add((o.run.method.key, text))
            where = "" if o.run.epsilon is None else f" at ε={o.run.epsilon:g}"
            out.append(f"{o.run.label}{where}: {text}")
    return out


def notes(
    outcomes: Sequence[Outcome], *, setup: Setup, built: Mapping[str, Built], loads: tuple[str, str]
) -> list[str]:
    """The notes list under the table."""
    p = setup.prepared
    ours = sorted({o.run.method.key for o in outcomes if o.run.method.ours})
    out = [
        f"Data: UCI Adult (`data/adult/adult.csv`{', quick sample' if setup.quick else ''}), "
        f"target `income`, one seeded 80/20 split stratified on the target by the datasets "
        f"pipeline: {p.train_rows:,} training rows, {p.holdout_rows:,} holdout rows, "
        f"{len(p.columns)} columns. Every method fits the training rows and samples as many.",
        f"Privacy: every DP method gets the same ε and δ = 1/n^1.5 = {setup.delta:.3g} "
        "(`sds_common.privacy.policy.default_delta`, n = training rows). *ε reported* is what "
        "the method itself reports spending (ours from one accountant; smartnoise DP-CTGAN its "
        "accountant where it stopped plus its preprocessing; MST and AIM report none).",
        ("SDMetrics: not run (`--no-judge`). " if not setup.judge else "")
        + "SDMetrics quality: `sdmetrics` QualityReport (its own venv) of each synthetic table "
        "against the REAL TRAINING rows the models were fitted on (numeric columns `numerical`, "
        "the rest `categorical`). Fidelity (ours), TSTR/TRTR ROC-AUC, DCR share and attack AUC "
        "come from our evaluator (`sds_evaluator.domain.evaluate`) with the real HOLDOUT; attack "
        "AUC is its distance-based membership inference (0.5 is ideal), DCR share 0.5 is ideal.",
        f"Ours: every DP synthesizer in the trainer registry at run time "
        f"({', '.join(ours) or 'none selected'}), "
        "each in a subprocess of our venv, given the public metadata a data owner can declare "
        "without the rows (`data/adult/public-metadata.json`: the category lists of "
        "`adult.names` and the Census fields' ranges, sources in `data/adult/README.md`; "
        "declared bounds and categories cost no ε, `fnlwgt`'s bounds are found under DP), and "
        "the target column `income` as the trainer passes a dataset's declared target (aim "
        "weighs the workload marginals holding it 4x, `focus`). "
        "*ours: X, no metadata* runs X with nothing declared: every bound and category set "
        "found under DP within ε, as the trainer does by default; a category held by fewer rows "
        "than the stability threshold (several hundred rows at ε=1 here) cannot be released.",
        "Peers get the same declared metadata as ours. smartnoise-synth MST and AIM: every "
        "column passed as categorical codes of a discretisation done in the worker "
        "(`benchmarks/_peers/discretise.py`: one code per integer inside the bounds, 0 in a "
        "code of its own, log-spaced bins for skewed ranges), bounds declared or found with 10% "
        "of ε subtracted from the synthesizer's ε (the total stays ε), codes decoded back to "
        "values; categories are taken from the data without charging ε (its design — this "
        "favours it); AIM and MST rows are drawn i.i.d. from the fitted model (mbi "
        "`method='sample'`), not by its default randomised rounding; DP-CTGAN takes numeric "
        "columns as continuous with bounds from its own DP preprocessor (10% of ε); "
        "DP-CTGAN keeps its defaults at ε=1 (noise multiplier 5, batch 500, it trains until its "
        "accountant passes ε, checking before each epoch); at other ε its noise multiplier is "
        "calibrated so that it trains as many epochs as at ε=1 (at 5 it would train ~7x "
        "longer at ε=3).",
        f"ctgan package: non-DP, once, {setup.epochs if not setup.quick else 1} epochs, batch "
        "size as our dp-ctgan default, its other defaults (pac 10).",
        f"Threads: {setup.threads} torch/BLAS/XLA thread(s) per worker for every method. The "
        "machine is shared with other engineers' work, so fit times are inflated by contention "
        f"(load average {loads[0]} at the start, {loads[1]} at the end, 1/5/15 min).",
        *(f"venv {b.describe()}" for b in built.values()),
        *_versions(outcomes),
        *_run_notes(outcomes),
    ]
    return [f"- {line}" for line in out]


def render(
    outcomes: Sequence[Outcome],
    *,
    setup: Setup,
    built: Mapping[str, Built],
    loads: tuple[str, str],
    pending: int = 0,
) -> str:
    """The RESULTS.md section body; ``pending`` runs still to go mark it as in progress."""
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    mode = " (`--quick`: NOT the benchmark's numbers)" if setup.quick else ""
    if pending:
        mode += f" — **in progress: {pending} more run(s) to go**"
    return "\n".join(
        [
            f"Run {when}{mode} on {machine_facts()}.",
            "",
            f"Targets: **our best DP synthesizer at ε=1: SDMetrics ≥ {TARGET_QUALITY} and TSTR "
            f"≥ {TARGET_TSTR} with a fit ≤ {AIM_FIT_RATIO} x smartnoise AIM's in the same run; "
            f"our dp-ctgan: fit ≤ ⅓ of smartnoise DP-CTGAN's with SDMetrics ≥ "
            f"{DPCTGAN_QUALITY}**.",
            "",
            table(outcomes),
            "",
            *targets(outcomes),
            "",
            *notes(outcomes, setup=setup, built=built, loads=loads),
        ]
    )
