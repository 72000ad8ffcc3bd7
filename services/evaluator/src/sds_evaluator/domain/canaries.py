"""Canary exposure: does a generator reproduce records that were planted in its training data?

A canary audit makes 2k records the same way, each with a unique, out-of-distribution value
(a value no real record holds), plants k of them in the training table and keeps the other k out
(held-out canaries). After training, each canary's distance to its closest synthetic row is
measured in the evaluator's distance space (:mod:`.encoding`). The two groups were made the same
way, so a generator that never saw them sits as close to one group as to the other; a generator
that memorises its training rows sits closer to the planted ones.

This is the membership-inference attack of :mod:`.privacy_risk` aimed at the records most likely
to leak, with a baseline built for them: under (epsilon, delta)-DP no test on a canary can tell
planted from held-out better than epsilon allows, so :func:`.empirical_dp.epsilon_lower_bound` on
the two groups' scores is a lower bound on the epsilon the training really had (its
``max_detectable`` grows with k: about 1.8 for 50 canaries a side).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd  # type: ignore[import-untyped, unused-ignore]
from scipy.stats import mannwhitneyu
from sklearn.metrics import roc_auc_score

from sds_evaluator.domain.empirical_dp import EpsilonBound, epsilon_lower_bound
from sds_evaluator.domain.encoding import RowEncoder, nearest
from sds_evaluator.domain.models import ColumnInfo, EvaluationConfig


@dataclass(frozen=True)
class CanaryExposure:
    """How much closer the synthetic rows come to planted canaries than to held-out ones.

    Attributes:
        planted: canaries that were in the training data.
        held_out: canaries made the same way that were not.
        auc: probability that a planted canary is closer to the synthetic rows than a held-out
            one (0.5: no exposure; 1: every planted canary is reproduced more closely).
        p_value: one-sided Mann-Whitney U test that planted canaries sit closer.
        median_distance_planted: median distance of a planted canary to its closest synthetic
            row.
        median_distance_held_out: the same for held-out canaries (the baseline).
        reproduced_planted: planted canaries with an identical synthetic row (distance 0).
        reproduced_held_out: held-out canaries with an identical synthetic row (chance).
        epsilon: the empirical epsilon lower bound from planted vs held-out scores.
    """

    planted: int
    held_out: int
    auc: float
    p_value: float
    median_distance_planted: float
    median_distance_held_out: float
    reproduced_planted: int
    reproduced_held_out: int
    epsilon: EpsilonBound


def canary_exposure(
    *,
    planted: pd.DataFrame,
    held_out: pd.DataFrame,
    synthetic: pd.DataFrame,
    real_train: pd.DataFrame,
    columns: Sequence[ColumnInfo],
    delta: float = 0.0,
    config: EvaluationConfig | None = None,
    seed: int = 0,
) -> CanaryExposure:
    """Measure the exposure of planted canaries against held-out ones.

    Args:
        planted: the canaries that were put in the training data.
        held_out: canaries made the same way and kept out of it (the baseline).
        synthetic: the generated rows.
        real_train: the full training table (planted canaries included); numeric scales of
            the distance space come from it, as in the privacy-risk section.
        columns: the columns of the distance space.
        delta: the delta the generator claims (0 if none), for the epsilon bound.
        config: caps; every canary value gets a one-hot slot on top of
            ``max_onehot_categories``, so no two canaries share the overflow slot.
        seed: seeds the threshold split of the epsilon bound.

    Returns:
        The exposure figures.

    Raises:
        ValueError: a group is empty, or there are no synthetic rows or columns.
    """
    if len(planted) == 0 or len(held_out) == 0 or len(synthetic) == 0 or not columns:
        raise ValueError(
            "canary exposure needs planted and held-out canaries, synthetic rows and columns"
        )
    cfg = config or EvaluationConfig()
    encoder = RowEncoder.fit(
        real_train,
        columns,
        max_categories=cfg.max_onehot_categories + len(planted) + len(held_out),
        vocabulary_from=[held_out, synthetic],
    )
    synthetic_vectors = encoder.transform(synthetic)
    d_planted = nearest(encoder.transform(planted), synthetic_vectors, k=1)[0][:, 0]
    d_held = nearest(encoder.transform(held_out), synthetic_vectors, k=1)[0][:, 0]
    labels = np.concatenate([np.ones(len(planted)), np.zeros(len(held_out))])
    # Closer = more exposed: the attack score is minus the distance, as in membership inference.
    auc = float(roc_auc_score(labels, np.concatenate([-d_planted, -d_held])))
    p_value = float(mannwhitneyu(d_planted, d_held, alternative="less").pvalue)
    return CanaryExposure(
        planted=len(planted),
        held_out=len(held_out),
        auc=auc,
        p_value=p_value,
        median_distance_planted=float(np.median(d_planted)),
        median_distance_held_out=float(np.median(d_held)),
        reproduced_planted=int((d_planted == 0).sum()),
        reproduced_held_out=int((d_held == 0).sum()),
        epsilon=epsilon_lower_bound(-d_planted, -d_held, delta=delta, seed=seed),
    )
