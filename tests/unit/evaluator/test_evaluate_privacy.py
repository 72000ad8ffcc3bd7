"""Privacy-risk checks: memorisation is caught, independent samples are not flagged."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sds_evaluator.domain import EvaluationReport, evaluate
from sds_evaluator.domain.empirical_dp import cp_lower, cp_upper, epsilon_lower_bound
from sds_evaluator.domain.encoding import cross_nearest, nearest
from tests.unit.evaluator.tables import COLUMNS, population


@pytest.fixture(scope="module")
def train() -> pd.DataFrame:
    return population(1500, seed=11)


@pytest.fixture(scope="module")
def holdout() -> pd.DataFrame:
    return population(1500, seed=12)


@pytest.fixture(scope="module")
def copied(train: pd.DataFrame, holdout: pd.DataFrame) -> EvaluationReport:
    return evaluate(
        real_train=train,
        real_holdout=holdout,
        synthetic=train.sample(frac=1.0, random_state=0),
        columns=COLUMNS,
        target="label",
        privacy={"epsilon": 1.0, "delta": 1e-6, "mechanism": "DP-SGD"},
        seed=0,
    )


@pytest.fixture(scope="module")
def independent(train: pd.DataFrame, holdout: pd.DataFrame) -> EvaluationReport:
    return evaluate(
        real_train=train,
        real_holdout=holdout,
        synthetic=population(1500, seed=13),
        columns=COLUMNS,
        target="label",
        seed=0,
    )


def test_copy_of_training_rows_is_caught(copied: EvaluationReport, train: pd.DataFrame) -> None:
    scores = copied.scores
    assert scores["exact_copies"] == len(train)
    assert scores["dcr_share"] > 0.95
    assert scores["mia_auc"] > 0.95
    assert scores["mia_epsilon_lower_bound"] > 3.0
    metric = next(m for m in copied.privacy_risk.metrics if m.key == "dcr_5th_percentile")
    assert metric.value == pytest.approx(0.0)


def test_contradicted_dp_claim_is_flagged(copied: EvaluationReport) -> None:
    assert copied.privacy_guarantee.differentially_private
    assert copied.privacy_risk.notes[0].startswith("WARNING")


def test_independent_sample_shows_no_leakage(independent: EvaluationReport) -> None:
    scores = independent.scores
    assert 0.44 < scores["dcr_share"] < 0.56
    assert 0.44 < scores["mia_auc"] < 0.56
    assert scores["mia_epsilon_lower_bound"] == pytest.approx(0.0, abs=0.05)
    assert scores["exact_copies"] == 0.0
    assert scores["attribute_inference_advantage"] < 0.06
    assert not independent.privacy_guarantee.differentially_private


def test_attribute_inference_targets_label_first(independent: EvaluationReport) -> None:
    attacked = [a.column for a in independent.privacy_risk.attribute_inference]
    assert attacked[0] == "label"
    assert all(
        0.0 <= a.accuracy_on_members <= 1.0 for a in independent.privacy_risk.attribute_inference
    )


def test_privacy_notes_say_checks_are_not_proofs(independent: EvaluationReport) -> None:
    assert any("not proofs" in n for n in independent.privacy_risk.notes)
    assert (
        independent.privacy_risk.rows_used["train"] == independent.privacy_risk.rows_used["holdout"]
    )


def test_empty_synthetic_table_skips_privacy(train: pd.DataFrame, holdout: pd.DataFrame) -> None:
    report = evaluate(
        real_train=train, real_holdout=holdout, synthetic=train.iloc[:0], columns=COLUMNS
    )
    assert report.privacy_risk.status == "skipped"
    assert report.scores["column_shapes"] < 0.1


def test_epsilon_bound_is_zero_for_identical_distributions() -> None:
    rng = np.random.default_rng(0)
    bound = epsilon_lower_bound(rng.normal(size=5000), rng.normal(size=5000), seed=0)
    assert bound.lower_bound == 0.0
    assert bound.max_detectable > 5.0


def test_epsilon_bound_for_separable_scores_reaches_sample_limit() -> None:
    rng = np.random.default_rng(0)
    bound = epsilon_lower_bound(rng.normal(10, 1, 2000), rng.normal(0, 1, 2000), seed=0)
    assert bound.lower_bound > 0.8 * bound.max_detectable
    assert bound.lower_bound <= bound.max_detectable + 1e-9


def test_epsilon_bound_respects_known_ratio() -> None:
    # Members flag with probability 0.5, non-members with 0.1: the true log ratio is log(5).
    rng = np.random.default_rng(1)
    members = (rng.random(20_000) < 0.5).astype(float)
    others = (rng.random(20_000) < 0.1).astype(float)
    bound = epsilon_lower_bound(members, others, seed=0)
    assert 0.0 < bound.lower_bound < np.log(5.0)
    assert bound.point_estimate == pytest.approx(np.log(5.0), abs=0.15)


def test_clopper_pearson_bounds_bracket_the_rate() -> None:
    k = np.array([0.0, 10.0, 100.0])
    lo, hi = cp_lower(k, 100, 0.025), cp_upper(k, 100, 0.025)
    assert lo[0] == 0.0
    assert hi[2] == 1.0
    assert lo[1] < 0.1 < hi[1]


def test_nearest_matches_brute_force() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(300, 7)), rng.normal(size=(200, 7))
    full = np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2))
    dist, idx = nearest(a, b, k=2)
    np.testing.assert_allclose(dist[:, 0], full.min(axis=1), rtol=1e-4)
    np.testing.assert_array_equal(idx[:, 0], full.argmin(axis=1))
    np.testing.assert_allclose(dist[:, 1], np.sort(full, axis=1)[:, 1], rtol=1e-4)
    _, _, back = cross_nearest(a, b, k=1)
    np.testing.assert_allclose(back, full.min(axis=0), rtol=1e-4)
