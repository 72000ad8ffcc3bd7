"""The fidelity section: column shapes, pair trends and the overall score built from them.

The overall score follows SDMetrics' QualityReport: the mean of the column-shape average and the
pair-trend average. The same scores computed between the real training rows and the real holdout
rows give a reference: two honest samples of one population rarely score 1.0, so a synthetic table
is judged against what sampling noise alone allows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd  # type: ignore[import-untyped, unused-ignore]

from sds_evaluator.domain.columns import ColumnData, prepare_column
from sds_evaluator.domain.models import (
    ColumnInfo,
    ColumnShape,
    EvaluationConfig,
    FidelitySection,
    Metric,
    PairTrend,
)
from sds_evaluator.domain.pairs import association_matrices, choose_pairs, pair_trend
from sds_evaluator.domain.shapes import column_distribution, column_shape


@dataclass(frozen=True)
class FidelityScores:
    shapes: list[ColumnShape]
    trends: list[PairTrend]

    @property
    def shape_mean(self) -> float | None:
        return float(np.mean([s.score for s in self.shapes])) if self.shapes else None

    @property
    def pair_mean(self) -> float | None:
        return float(np.mean([t.score for t in self.trends])) if self.trends else None

    @property
    def overall(self) -> float | None:
        parts = [p for p in (self.shape_mean, self.pair_mean) if p is not None]
        return float(np.mean(parts)) if parts else None


def _prepare(
    real: pd.DataFrame, other: pd.DataFrame, columns: Sequence[ColumnInfo], cfg: EvaluationConfig
) -> list[ColumnData]:
    return [
        prepare_column(
            info,
            real[info.name],
            other[info.name],
            pair_bins=cfg.pair_bins,
            max_categories=cfg.max_onehot_categories,
        )
        for info in columns
    ]


def _score(data: Sequence[ColumnData], pairs: Sequence[tuple[int, int]]) -> FidelityScores:
    shapes = [column_shape(col) for col in data]
    trends = [pair_trend(data[i], data[j]) for i, j in pairs]
    return FidelityScores(shapes=shapes, trends=trends)


def _worst_first(shapes: Sequence[ColumnShape], limit: int) -> list[int]:
    """Indices of the columns to show: all when few, else the worst-kept ones, in table order."""
    if len(shapes) <= limit:
        return list(range(len(shapes)))
    order = sorted(range(len(shapes)), key=lambda i: (shapes[i].score, i))
    return sorted(order[:limit])


def _metric(
    key: str,
    label: str,
    value: float | None,
    meaning: str,
    *,
    note: str | None = None,
    baseline: float | None = None,
) -> Metric:
    return Metric(
        key=key,
        label=label,
        value=value,
        direction="higher",
        meaning=meaning,
        note=note,
        baseline=baseline,
    )


def fidelity_section(
    *,
    real_train: pd.DataFrame,
    real_holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    columns: Sequence[ColumnInfo],
    baseline: pd.DataFrame | None = None,
    config: EvaluationConfig,
    seed: int,
) -> FidelitySection:
    """Compare the synthetic table with the real training rows, column by column and in pairs.

    Args:
        real_train: the rows the generator learnt from (already subsampled by the caller).
        real_holdout: unseen real rows, used only for the real-vs-real reference scores.
        synthetic: the generated rows.
        columns: the columns to score.
        baseline: the independent-columns baseline table, scored on the same pairs.
        config: caps on pairs, plots and bins.
        seed: chooses the pairs scored on wide tables.

    Returns:
        The section, including plot aggregates for the HTML report.
    """
    data = _prepare(real_train, synthetic, columns, config)
    shapes = [column_shape(col) for col in data]
    heat = _worst_first(shapes, config.max_heatmap_columns)
    pairs, pairs_total = choose_pairs(len(data), must=heat, limit=config.max_pairs, seed=seed)
    scores = FidelityScores(shapes=shapes, trends=[pair_trend(data[i], data[j]) for i, j in pairs])
    notes: list[str] = []
    if len(pairs) < pairs_total:
        notes.append(
            f"{len(pairs)} of {pairs_total} column pairs were scored (a seeded sample), "
            "to keep wide tables fast."
        )
    reference: FidelityScores | None = None
    if len(real_holdout) > 0:
        reference = _score(_prepare(real_train, real_holdout, columns, config), pairs)
    floor: FidelityScores | None = None
    if baseline is not None and len(baseline) > 0:
        floor = _score(_prepare(real_train, baseline, columns, config), pairs)
    ref_note = "Real training rows compared with real holdout rows: what sampling noise allows."
    metrics = [
        _metric(
            "fidelity",
            "Overall fidelity",
            scores.overall,
            "How closely the synthetic table resembles the real one, from 0 (nothing alike) to "
            "1 (indistinguishable by these checks): the mean of the two scores below. It "
            "averages over columns, so read it beside validity, which no broken column escapes.",
            baseline=floor.overall if floor else None,
        ),
        _metric(
            "column_shapes",
            "Column shapes",
            scores.shape_mean,
            "How well each column on its own keeps its real distribution (value ranges, "
            "category shares, missing values), averaged over columns.",
            baseline=floor.shape_mean if floor else None,
        ),
        _metric(
            "column_pairs",
            "Column pair trends",
            scores.pair_mean,
            "How well relationships between two columns survive (for example that age and "
            "income rise together), averaged over column pairs.",
            baseline=floor.pair_mean if floor else None,
        ),
        _metric(
            "fidelity_reference",
            "Real-vs-real reference",
            reference.overall if reference else None,
            "The same overall score for two real samples (training rows vs holdout rows). "
            "A synthetic score close to this is as good as a fresh real sample.",
            note=ref_note if reference else "No holdout rows were given.",
        ),
    ]
    trends_by_pair = {(t.left, t.right): t for t in scores.trends}
    shown = _worst_first(shapes, config.max_plot_columns)
    if len(shown) < len(shapes):
        notes.append(
            f"Plots show the {len(shown)} columns whose distributions were kept worst "
            f"(of {len(shapes)})."
        )
    distributions = [
        column_distribution(
            data[i],
            score=shapes[i].score,
            bins=config.numeric_bins,
            shown=config.max_categories_shown,
        )
        for i in shown
    ]
    associations = (
        association_matrices([data[i] for i in heat], trends_by_pair) if len(heat) >= 2 else None
    )
    return FidelitySection(
        metrics=metrics,
        columns=shapes,
        pairs=scores.trends,
        pairs_total=pairs_total,
        distributions=distributions,
        associations=associations,
        notes=notes,
    )
