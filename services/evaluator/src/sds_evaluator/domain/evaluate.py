"""``evaluate``: every metric of one synthetic table, assembled into the report."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd  # type: ignore[import-untyped, unused-ignore]
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped, unused-ignore]

from sds_common.tables.formats import ColumnFormat
from sds_evaluator.domain.baseline import independent_baseline
from sds_evaluator.domain.columns import ColumnLike, sample_rows, usable_columns
from sds_evaluator.domain.fidelity import fidelity_section
from sds_evaluator.domain.guarantee import privacy_guarantee
from sds_evaluator.domain.models import (
    EvaluationConfig,
    EvaluationReport,
    Metric,
    PrivacyGuarantee,
    PrivacyRiskSection,
    UtilitySection,
    ValiditySection,
)
from sds_evaluator.domain.privacy_risk import privacy_risk_section
from sds_evaluator.domain.utility import utility_section
from sds_evaluator.domain.validity import column_validity

#: Scores whose metric also carries the independent-columns baseline's value, published as
#: ``baseline_<key>``.
BASELINE_KEYS = (
    "fidelity",
    "column_shapes",
    "column_pairs",
    "utility_tstr_auc",
    "utility_tstr_r2",
    "utility_ratio",
)
HEADLINE_KEYS = (
    "validity",
    "validity_flagged_columns",
    "fidelity",
    "column_shapes",
    "column_pairs",
    "fidelity_reference",
    "utility_tstr_auc",
    "utility_trtr_auc",
    "utility_tstr_r2",
    "utility_trtr_r2",
    "utility_ratio",
    *(f"baseline_{key}" for key in BASELINE_KEYS),
    "dcr_share",
    "exact_copies",
    "mia_auc",
    "mia_epsilon_lower_bound",
    "attribute_inference_advantage",
)

METHODS = [
    "Validity, checked first, per column against the real training rows: the share of numeric "
    "and datetime values inside the real [min, max]; for categories, the share of cells that are "
    "real categories (the explicit (other) bucket counts as one) and the real categories still "
    "present; missing cells beyond the real share (any, where the real column had none); values "
    "written as the real ones (dtype, decimals, step grid, datetime granularity, booleans); "
    "identifiers unique and shaped like the real ones. A column scores the share of cells "
    "passing its worst check; the headline is the worst column, so one empty or out-of-range "
    "column sets it. Validity is shown beside fidelity with equal weight, not folded into it: "
    "fidelity stays comparable with SDMetrics' quality score and its real-vs-real reference, "
    "and the fidelity card is never coloured better than the validity card.",
    "Independent-columns baseline: a table of the synthetic table's size sampled column by "
    "column from the real training rows (each column's marginal, missing cells included). It "
    "keeps every distribution and no relationship; it is not differentially private, so it is "
    "an upper bound of what a generator learning no correlations scores. Every fidelity and "
    "utility score is shown beside the baseline's; the difference is what the model adds.",
    "Column shapes: numeric and datetime columns score 1 - Kolmogorov-Smirnov statistic of the "
    "present values, times 1 - the difference in missing-value shares; categorical and boolean "
    "columns score 1 - total variation distance, with missing values as a category.",
    "Column pair trends: two numeric columns score 1 - |Spearman(real) - Spearman(synthetic)| / 2; "
    "every other pair scores 1 - total variation distance between the joint frequency tables "
    "(numeric columns cut at 10 real quantiles, missing values as their own cell, categories "
    "beyond the 50 most frequent folded together). Heatmaps show association strength: "
    "|Spearman|, Cramér's V, or the correlation ratio eta for numeric-categorical pairs.",
    "Overall fidelity: the mean of the column-shape average and the pair-trend average, as in "
    "SDMetrics' QualityReport. The reference is the same score between real training and real "
    "holdout rows.",
    "ML utility, for the declared target only (none is guessed): histogram gradient boosting, "
    "trained on synthetic rows (TSTR), on real training rows (TRTR, the ceiling) and on the "
    "baseline, all tested on the real holdout. Binary ROC-AUC uses the real data's minority "
    "class as positive; multiclass ROC-AUC is the macro one-vs-rest average. A ROC-AUC within "
    "two standard errors of 0.5 (Hanley-McNeil, on this holdout) or an R² <= 0 is chance: no "
    "utility.",
    "Distance space for privacy checks: numeric columns standardised with the training rows' mean "
    "and standard deviation plus a missing-value indicator; categorical columns one-hot encoded "
    "and scaled so a mismatch counts as much as one standard deviation; Euclidean distance, "
    "exact nearest neighbours.",
    "Membership inference: members are training rows, non-members holdout rows; the attack score "
    "is minus the distance to the closest synthetic row. The empirical epsilon lower bound picks a "
    "threshold on half the rows and evaluates log((TPR - delta) / FPR) on the other half with "
    "one-sided Clopper-Pearson bounds (95% overall confidence).",
    "Attribute inference: for the target and sensitive-sounding columns, the value of the nearest "
    "synthetic row on all other columns is the guess (numeric columns in 5 quantile bins); the "
    "member advantage is its accuracy on training rows minus that on holdout rows.",
]


def _headline(*sections: Sequence[Metric]) -> dict[str, float]:
    values = {m.key: m.value for section in sections for m in section}
    values.update(
        {
            f"baseline_{m.key}": m.baseline
            for section in sections
            for m in section
            if m.baseline is not None
        }
    )
    headline: dict[str, float] = {}
    for key in HEADLINE_KEYS:
        value = values.get(key)
        if value is not None and math.isfinite(value):
            headline[key] = float(value)
    return headline


def headline_scores(report: EvaluationReport) -> dict[str, float]:
    """The flat headline numbers for ``EvaluationCompleted.scores`` (absent keys: not computed)."""
    return dict(report.scores)


def _validity_section(
    *,
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    columns: Sequence[ColumnLike],
    formats: Mapping[str, ColumnFormat | None],
) -> ValiditySection:
    found = column_validity(
        real, synthetic, kinds={c.name: c.kind for c in columns}, formats=formats
    )
    flagged = found.flagged_columns
    metrics = [
        Metric(
            key="validity",
            label="Validity",
            value=found.score,
            direction="higher",
            meaning="The share of valid cells in the most broken column (values inside the real "
            "range, real categories, no extra missing cells, written as the real ones): 1 means "
            "every column holds only values the real column could hold; one empty or "
            "out-of-range column sets it.",
            note=None if found.score is not None else "No column could be checked.",
        ),
        Metric(
            key="validity_flagged_columns",
            label="Columns flagged",
            value=float(len(flagged)),
            direction="lower",
            meaning="Columns with at least one failed check (listed below with the reason).",
        ),
    ]
    notes = []
    if not formats or all(f is None for f in formats.values()):
        notes.append(
            "The dataset records no value formats (profiled before they existed): "
            "representation was checked on dtypes only."
        )
    return ValiditySection(
        metrics=metrics, columns=list(found.columns), flags=list(found.flags), notes=notes
    )


def _contradiction(risk: PrivacyRiskSection, guarantee: PrivacyGuarantee) -> PrivacyRiskSection:
    bound = next((m.value for m in risk.metrics if m.key == "mia_epsilon_lower_bound"), None)
    if guarantee.epsilon is None or bound is None or bound <= guarantee.epsilon:
        return risk
    warning = (
        f"WARNING: the attack proves epsilon >= {bound:.3g}, above the claimed epsilon = "
        f"{guarantee.epsilon:.3g}. The DP claim is contradicted: check the training pipeline "
        "(preprocessing outside the privacy budget, wrong accounting, or leaked rows)."
    )
    return risk.model_copy(update={"notes": [warning, *risk.notes]})


def _checked(guarantee: PrivacyGuarantee, risk: PrivacyRiskSection) -> PrivacyGuarantee:
    """The guarantee with what this evaluation's membership attack says about it."""
    bound = next((m.value for m in risk.metrics if m.key == "mia_epsilon_lower_bound"), None)
    if guarantee.epsilon is None or bound is None:
        return guarantee
    if bound <= guarantee.epsilon:
        check = (
            f"Consistent with the data: the membership attack below proves ε ≥ {bound:.3g}, "
            f"within the claimed ε = {guarantee.epsilon:.3g}. An attack can refute a claim, "
            "never prove it."
        )
    else:
        check = (
            f"CONTRADICTED by the data: the membership attack below proves ε ≥ {bound:.3g}, "
            f"above the claimed ε = {guarantee.epsilon:.3g}."
        )
    return guarantee.model_copy(update={"empirical_check": check})


def evaluate(
    *,
    real_train: pd.DataFrame,
    real_holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    columns: Sequence[ColumnLike],
    target: str | None = None,
    privacy: Mapping[str, Any] | None = None,
    seed: int = 0,
    config: EvaluationConfig | None = None,
    formats: Mapping[str, ColumnFormat | None] | None = None,
    method: str | None = None,
) -> EvaluationReport:
    """Score a synthetic table for fidelity, ML utility and empirical privacy risk.

    Args:
        real_train: the rows the generator was trained on.
        real_holdout: real rows no model ever saw.
        synthetic: the generated rows.
        columns: the schema; identifier and text columns (and columns missing from any table)
            are left out of fidelity, utility and privacy metrics, and checked for validity.
        target: the declared column to predict for ML utility; None reports "no target
            declared" (no column is guessed).
        privacy: the generator's DP facts (epsilon, delta, mechanism, ...); None if not DP.
        seed: makes every sample, split and model (and the baseline table) deterministic.
        config: caps for wide or long tables; defaults suit tables up to ~100k rows.
        formats: column name -> how its values were written (``DatasetProfiled`` v2); columns
            without one get the dtype checks of validity only.
        method: the generator's method (aim, mst, dp-ctgan, ...), recorded in the report.

    Returns:
        The report. ``scores`` holds the flat headline numbers.
    """
    cfg = config or EvaluationConfig()
    with threadpool_limits(limits=cfg.max_threads):
        return _evaluate(
            real_train=real_train,
            real_holdout=real_holdout,
            synthetic=synthetic,
            columns=columns,
            target=target,
            privacy=privacy,
            seed=seed,
            cfg=cfg,
            formats=formats or {},
            method=method,
        )


def _evaluate(
    *,
    real_train: pd.DataFrame,
    real_holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    columns: Sequence[ColumnLike],
    target: str | None,
    privacy: Mapping[str, Any] | None,
    seed: int,
    cfg: EvaluationConfig,
    formats: Mapping[str, ColumnFormat | None],
    method: str | None,
) -> EvaluationReport:
    timings: dict[str, float] = {}
    used, excluded = usable_columns(columns, [real_train, real_holdout, synthetic])
    started = time.perf_counter()
    validity = _validity_section(
        real=real_train, synthetic=synthetic, columns=columns, formats=formats
    )
    timings["validity"] = time.perf_counter() - started
    started = time.perf_counter()
    # The synthetic table's size (up to what any metric reads), so both carry the same noise.
    rows = min(len(synthetic), max(cfg.max_fidelity_rows, cfg.max_utility_rows))
    baseline = independent_baseline(real_train, rows=rows, seed=seed) if len(real_train) else None
    timings["baseline_sampling"] = time.perf_counter() - started
    started = time.perf_counter()
    fidelity = fidelity_section(
        real_train=sample_rows(real_train, limit=cfg.max_fidelity_rows, seed=seed),
        real_holdout=sample_rows(real_holdout, limit=cfg.max_fidelity_rows, seed=seed),
        synthetic=sample_rows(synthetic, limit=cfg.max_fidelity_rows, seed=seed),
        baseline=(
            sample_rows(baseline, limit=cfg.max_fidelity_rows, seed=seed)
            if baseline is not None
            else None
        ),
        columns=used,
        config=cfg,
        seed=seed,
    )
    timings["fidelity"] = time.perf_counter() - started
    started = time.perf_counter()
    utility: UtilitySection = utility_section(
        real_train=real_train,
        real_holdout=real_holdout,
        synthetic=synthetic,
        columns=used,
        target=target,
        baseline=baseline,
        config=cfg,
        seed=seed,
    )
    timings["utility"] = time.perf_counter() - started
    started = time.perf_counter()
    guarantee = privacy_guarantee(privacy)
    risk = privacy_risk_section(
        real_train=real_train,
        real_holdout=real_holdout,
        synthetic=synthetic,
        columns=used,
        target=utility.target,
        delta=guarantee.delta or 0.0,
        config=cfg,
        seed=seed,
    )
    risk = _contradiction(risk, guarantee)
    guarantee = _checked(guarantee, risk)
    timings["privacy_risk"] = time.perf_counter() - started
    return EvaluationReport(
        seed=seed,
        rows={
            "real_train": len(real_train),
            "real_holdout": len(real_holdout),
            "synthetic": len(synthetic),
        },
        columns_used=used,
        columns_excluded=excluded,
        scores=_headline(validity.metrics, fidelity.metrics, utility.metrics, risk.metrics),
        method=method,
        validity=validity,
        fidelity=fidelity,
        utility=utility,
        privacy_risk=risk,
        privacy_guarantee=guarantee,
        methods=METHODS,
        timings_s={k: round(v, 3) for k, v in timings.items()},
    )
