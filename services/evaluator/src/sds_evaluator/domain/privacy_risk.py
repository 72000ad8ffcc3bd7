"""Empirical privacy-risk checks: memorisation, membership inference, attribute inference.

These are attacks a curious data user could run on the synthetic table; passing them is evidence,
not proof. A differential-privacy guarantee is the proof; these checks catch a broken pipeline or
a non-private generator that copies its training rows.

Every comparison is made against real rows the generator never saw (the holdout), with equally
many training and holdout rows, so "closer to training rows than to unseen rows" is a fair test.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd  # type: ignore[import-untyped, unused-ignore]
from sklearn.metrics import roc_auc_score

from sds_evaluator.domain.columns import (
    FloatArray,
    LabelArray,
    bin_codes,
    is_numeric_kind,
    quantile_edges,
    sample_rows,
    to_labels,
    to_numbers,
)
from sds_evaluator.domain.empirical_dp import epsilon_lower_bound
from sds_evaluator.domain.encoding import RowEncoder, cross_nearest, nearest, row_hashes
from sds_evaluator.domain.models import (
    AttributeInference,
    ColumnInfo,
    EvaluationConfig,
    MembershipInference,
    PrivacyRiskSection,
)
from sds_evaluator.domain.privacy_metrics import risk_metrics

_SENSITIVE = re.compile(
    r"income|salary|wage|earn|diagnos|disease|illness|health|medical|condition|hiv|cancer|"
    r"race|ethnic|religio|sexual|gender|sex\b|^sex|pregnan|disab|criminal|convict|politic|"
    r"union|credit|debt|loan|default|fraud|outcome|^label$|^target$",
    re.IGNORECASE,
)
_MAX_ATTRIBUTES = 3
_ATTRIBUTE_BINS = 5


def sensitive_columns(columns: Sequence[ColumnInfo], target: str | None) -> list[ColumnInfo]:
    """Columns an attacker would most like to learn: the target, then sensitive-sounding names.

    Falls back to the last categorical column, so every table gets at least one check.
    """
    chosen = [c for c in columns if c.name == target]
    chosen += [c for c in columns if c.name != target and _SENSITIVE.search(c.name)]
    if not chosen:
        chosen = [c for c in columns if not is_numeric_kind(c.kind)][-1:] or list(columns[-1:])
    return chosen[:_MAX_ATTRIBUTES]


def _share_closer(d_train: FloatArray, d_holdout: FloatArray) -> float:
    closer = (d_train < d_holdout).mean() + 0.5 * (d_train == d_holdout).mean()
    return float(closer)


def _nndr(dist: FloatArray) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(dist[:, 1] > 0, dist[:, 0] / dist[:, 1], 1.0)
    return np.asarray(ratio, dtype=np.float64)


def _hidden_values(frame: pd.DataFrame, info: ColumnInfo, edges: FloatArray | None) -> LabelArray:
    if edges is None:
        return to_labels(frame[info.name], info.kind)
    codes = bin_codes(to_numbers(frame[info.name], info.kind), edges)
    return codes.astype(str).astype(object)


def _attribute_inference(
    *,
    info: ColumnInfo,
    encoder: RowEncoder,
    frames: dict[str, pd.DataFrame],
    vectors: dict[str, FloatArray],
) -> AttributeInference:
    keep = encoder.columns_except(info.name)
    edges = (
        quantile_edges(to_numbers(frames["train"][info.name], info.kind), _ATTRIBUTE_BINS)
        if is_numeric_kind(info.kind)
        else None
    )
    synth_vals = _hidden_values(frames["synthetic"], info, edges)
    accuracy: dict[str, float] = {}
    for side in ("train", "holdout"):
        truth = _hidden_values(frames[side], info, edges)
        _, idx = nearest(vectors[side][:, keep], vectors["synthetic"][:, keep], k=1)
        accuracy[side] = float(np.mean(synth_vals[idx[:, 0]] == truth))
    guess = pd.Series(synth_vals).mode().iloc[0]
    baseline = float(np.mean(_hidden_values(frames["train"], info, edges) == guess))
    return AttributeInference(
        column=info.name,
        baseline_accuracy=baseline,
        accuracy_on_members=accuracy["train"],
        accuracy_on_non_members=accuracy["holdout"],
        lift=accuracy["train"] - baseline,
        member_advantage=accuracy["train"] - accuracy["holdout"],
    )


def privacy_risk_section(
    *,
    real_train: pd.DataFrame,
    real_holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    columns: Sequence[ColumnInfo],
    target: str | None,
    delta: float,
    config: EvaluationConfig,
    seed: int,
) -> PrivacyRiskSection:
    """Run the distance-based privacy checks.

    Args:
        real_train: the generator's training rows (members).
        real_holdout: real rows it never saw (non-members).
        synthetic: the generated rows.
        columns: usable columns; all of them form the distance space.
        target: the utility target, attacked first by attribute inference.
        delta: the delta the generator claims (0 if it claims none).
        config: row caps.
        seed: seeds every subsample and the threshold split of the epsilon audit.

    Returns:
        The section; "skipped" with a note when a table is empty.
    """
    if not columns or min(len(real_train), len(real_holdout), len(synthetic)) < 2:
        return PrivacyRiskSection(
            status="skipped",
            notes=["Privacy checks need at least two training, holdout and synthetic rows."],
        )
    train_h = row_hashes(real_train, columns)
    copies = int(np.isin(row_hashes(synthetic, columns), train_h).sum())
    holdout_dupes = int(np.isin(row_hashes(real_holdout, columns), train_h).sum())
    n = min(len(real_train), len(real_holdout), config.max_privacy_rows)
    frames = {
        "train": sample_rows(real_train, limit=n, seed=seed),
        "holdout": sample_rows(real_holdout, limit=n, seed=seed + 1),
        "synthetic": sample_rows(synthetic, limit=config.max_privacy_rows, seed=seed + 2),
    }
    encoder = RowEncoder.fit(
        frames["train"],
        columns,
        max_categories=config.max_onehot_categories,
        vocabulary_from=[frames["holdout"], frames["synthetic"]],
    )
    vectors = {name: encoder.transform(frame) for name, frame in frames.items()}
    # One product per table pair serves both directions: synthetic -> real for DCR, and
    # real -> synthetic for membership inference.
    d_syn_train, _, d_mem = cross_nearest(vectors["synthetic"], vectors["train"], k=2)
    d_syn_hold, _, d_non = cross_nearest(vectors["synthetic"], vectors["holdout"], k=1)
    d_hold_train, _ = nearest(vectors["holdout"], vectors["train"], k=2)
    # Membership inference: training rows should not sit closer to the synthetic rows.
    members, non_members = -d_mem, -d_non
    labels = np.concatenate([np.ones(n), np.zeros(n)])
    mia_auc = float(roc_auc_score(labels, np.concatenate([members, non_members])))
    eps = epsilon_lower_bound(members, non_members, delta=delta, seed=seed)
    attacked = min(n, config.max_attribute_rows)
    attack_frames = {
        "train": frames["train"].iloc[:attacked],
        "holdout": frames["holdout"].iloc[:attacked],
        "synthetic": frames["synthetic"],
    }
    attack_vectors = {
        "train": vectors["train"][:attacked],
        "holdout": vectors["holdout"][:attacked],
        "synthetic": vectors["synthetic"],
    }
    inference = [
        _attribute_inference(
            info=info, encoder=encoder, frames=attack_frames, vectors=attack_vectors
        )
        for info in sensitive_columns(columns, target)
        if len(columns) > 1
    ]
    metrics = risk_metrics(
        dcr_share=_share_closer(d_syn_train[:, 0], d_syn_hold[:, 0]),
        dcr_p5=float(np.quantile(d_syn_train[:, 0], 0.05)),
        dcr_p5_reference=float(np.quantile(d_hold_train[:, 0], 0.05)),
        nndr_p5=float(np.quantile(_nndr(d_syn_train), 0.05)),
        nndr_p5_reference=float(np.quantile(_nndr(d_hold_train), 0.05)),
        exact_copies=copies,
        synthetic_rows=len(synthetic),
        holdout_duplicates=holdout_dupes,
        holdout_rows=len(real_holdout),
        mia_auc=mia_auc,
        epsilon=eps,
        inference=inference,
    )
    notes = [
        "These are empirical checks, not proofs: passing them shows no sign of leakage from "
        "these particular attacks; only a differential-privacy guarantee bounds every attack.",
        f"Distance checks used {n:,} training rows, {n:,} holdout rows and "
        f"{len(frames['synthetic']):,} synthetic rows (seeded samples; equal training and holdout "
        "counts keep the comparison fair). Exact copies were counted on all rows.",
    ]
    if n < 1000:
        notes.append(f"With only {n} rows per side the checks are noisy; treat them as indicative.")
    return PrivacyRiskSection(
        status="ok",
        metrics=metrics,
        membership_inference=MembershipInference(
            attack_auc=mia_auc,
            epsilon_lower_bound=eps.lower_bound,
            epsilon_point_estimate=eps.point_estimate,
            confidence=eps.confidence,
            max_detectable=eps.max_detectable,
            delta=delta,
            tpr=eps.tpr,
            fpr=eps.fpr,
            rows_per_side=eps.rows_per_side,
        ),
        attribute_inference=inference,
        rows_used={"train": n, "holdout": n, "synthetic": len(frames["synthetic"])},
        notes=notes,
    )
