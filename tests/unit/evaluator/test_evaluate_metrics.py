"""evaluate(): fidelity and utility behave as their definitions promise on known tables."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from sds_evaluator.domain import (
    HEADLINE_KEYS,
    ColumnInfo,
    EvaluationReport,
    evaluate,
    headline_scores,
)
from tests.unit.evaluator.tables import COLUMNS, noise_table, population


@pytest.fixture(scope="module")
def train() -> pd.DataFrame:
    return population(1500, seed=1)


@pytest.fixture(scope="module")
def holdout() -> pd.DataFrame:
    return population(800, seed=2)


@pytest.fixture(scope="module")
def same_population(train: pd.DataFrame, holdout: pd.DataFrame) -> EvaluationReport:
    return evaluate(
        real_train=train,
        real_holdout=holdout,
        synthetic=population(1500, seed=3),
        columns=COLUMNS,
        target="label",
        seed=0,
    )


def test_fresh_sample_of_the_population_scores_like_real_data(
    same_population: EvaluationReport,
) -> None:
    scores = same_population.scores
    assert scores["fidelity"] > 0.9
    assert scores["column_shapes"] > 0.9
    assert abs(scores["fidelity"] - scores["fidelity_reference"]) < 0.05
    assert scores["utility_ratio"] > 0.9
    assert 0.4 < scores["dcr_share"] < 0.6


def test_report_is_json_serialisable_and_headline_is_flat(
    same_population: EvaluationReport,
) -> None:
    data = json.loads(same_population.model_dump_json())
    assert EvaluationReport.model_validate(data) == same_population
    assert set(same_population.scores) <= set(HEADLINE_KEYS)
    assert headline_scores(same_population) == same_population.scores
    assert all(isinstance(v, float) for v in same_population.scores.values())
    for key in ("fidelity", "column_shapes", "column_pairs", "utility_tstr_auc"):
        assert key in same_population.scores
    for section in (same_population.fidelity, same_population.utility):
        assert all(m.meaning and m.direction for m in section.metrics)


def test_identifier_columns_are_excluded(same_population: EvaluationReport) -> None:
    assert same_population.columns_excluded == ["row_id"]
    assert "row_id" not in {c.name for c in same_population.fidelity.columns}


def test_same_seed_gives_same_scores(
    train: pd.DataFrame, holdout: pd.DataFrame, same_population: EvaluationReport
) -> None:
    again = evaluate(
        real_train=train,
        real_holdout=holdout,
        synthetic=population(1500, seed=3),
        columns=COLUMNS,
        target="label",
        seed=0,
    )
    assert again.scores == same_population.scores


def test_copy_of_training_rows_keeps_every_shape(
    train: pd.DataFrame, holdout: pd.DataFrame
) -> None:
    report = evaluate(
        real_train=train, real_holdout=holdout, synthetic=train.copy(), columns=COLUMNS, seed=0
    )
    assert report.scores["column_shapes"] == pytest.approx(1.0)
    assert report.scores["column_pairs"] == pytest.approx(1.0)
    assert report.scores["fidelity"] == pytest.approx(1.0)


def test_independently_shuffled_columns_break_pairs_not_shapes(
    train: pd.DataFrame, holdout: pd.DataFrame
) -> None:
    rng = np.random.default_rng(0)
    shuffled = pd.DataFrame({c: rng.permutation(train[c].to_numpy()) for c in train.columns})
    report = evaluate(
        real_train=train, real_holdout=holdout, synthetic=shuffled, columns=COLUMNS, seed=0
    )
    assert report.scores["column_shapes"] == pytest.approx(1.0)
    age_hours = next(p for p in report.fidelity.pairs if {p.left, p.right} == {"age", "hours"})
    assert age_hours.real_association > 0.5
    assert age_hours.synthetic_association < 0.1
    assert age_hours.score < 0.75
    assert report.scores["column_pairs"] < report.scores["fidelity_reference"] - 0.05


def test_random_noise_scores_low_fidelity_and_chance_utility(
    train: pd.DataFrame, holdout: pd.DataFrame
) -> None:
    report = evaluate(
        real_train=train,
        real_holdout=holdout,
        synthetic=noise_table(1500, seed=4),
        columns=COLUMNS,
        target="label",
        seed=0,
    )
    assert report.scores["fidelity"] < 0.5
    assert report.scores["column_shapes"] < 0.4
    assert 0.35 < report.scores["utility_tstr_auc"] < 0.65
    assert report.scores["utility_trtr_auc"] > 0.75


def test_missing_values_and_mismatched_dtypes_are_handled(
    train: pd.DataFrame, holdout: pd.DataFrame
) -> None:
    real = population(1000, seed=5, missing=True)
    synth = real.copy()
    # Generators often emit other dtypes than the real table: strings for booleans and dates.
    synth["member"] = synth["member"].map({True: "True", False: "False"})
    synth["joined"] = synth["joined"].dt.strftime("%Y-%m-%d")
    report = evaluate(
        real_train=real,
        real_holdout=population(500, seed=6, missing=True),
        synthetic=synth,
        columns=COLUMNS,
        target="label",
        seed=0,
    )
    shapes = {c.name: c for c in report.fidelity.columns}
    assert shapes["member"].score == pytest.approx(1.0)
    assert shapes["joined"].score == pytest.approx(1.0)
    assert shapes["city"].missing_real == pytest.approx(shapes["city"].missing_synthetic)
    assert shapes["age"].missing_real > 0.05
    assert report.utility.status == "ok"
    assert report.utility.target == "label"
    dist = next(d for d in report.fidelity.distributions if d.name == "city")
    assert "(missing)" in dist.labels


def test_missing_share_mismatch_lowers_numeric_shape(train: pd.DataFrame) -> None:
    synth = train.copy()
    synth.loc[: len(synth) // 2, "age"] = np.nan
    report = evaluate(
        real_train=train, real_holdout=train, synthetic=synth, columns=COLUMNS, seed=0
    )
    age = next(c for c in report.fidelity.columns if c.name == "age")
    assert age.score < 0.6


def test_table_without_target_skips_utility_only() -> None:
    rng = np.random.default_rng(0)

    def table(n: int) -> pd.DataFrame:
        x = rng.normal(size=n)
        return pd.DataFrame({"x": x, "y": x + rng.normal(size=n), "note": ["free text"] * n})

    columns = [
        ColumnInfo(name="x", kind="numeric"),
        ColumnInfo(name="y", kind="numeric"),
        ColumnInfo(name="note", kind="text"),
    ]
    report = evaluate(
        real_train=table(600), real_holdout=table(300), synthetic=table(600), columns=columns
    )
    assert report.utility.status == "no_target"
    assert report.utility.notes
    assert not any("utility" in k for k in report.scores)
    assert report.privacy_risk.status == "ok"
    assert {"fidelity", "dcr_share", "mia_auc"} <= set(report.scores)


def test_multiclass_target(train: pd.DataFrame, holdout: pd.DataFrame) -> None:
    def with_bucket(frame: pd.DataFrame) -> pd.DataFrame:
        out = frame.copy()
        out["bucket"] = pd.cut(out["hours"], [-np.inf, 35, 40, 45, np.inf], labels=list("abcd"))
        return out.astype({"bucket": str})

    columns = [*COLUMNS, ColumnInfo(name="bucket", kind="categorical")]
    report = evaluate(
        real_train=with_bucket(train),
        real_holdout=with_bucket(holdout),
        synthetic=with_bucket(population(1500, seed=7)),
        columns=columns,
        target="bucket",
        seed=0,
    )
    assert report.utility.task == "multiclass"
    assert report.utility.positive_class is None
    assert report.scores["utility_tstr_auc"] > 0.8
    assert report.utility.tstr is not None
    assert {"accuracy", "f1_macro", "roc_auc"} <= set(report.utility.tstr.scores)


def test_numeric_target_is_regression(train: pd.DataFrame, holdout: pd.DataFrame) -> None:
    report = evaluate(
        real_train=train,
        real_holdout=holdout,
        synthetic=population(1500, seed=8),
        columns=COLUMNS,
        target="hours",
        seed=0,
    )
    assert report.utility.task == "regression"
    assert report.scores["utility_trtr_r2"] > 0.3
    assert report.scores["utility_ratio"] > 0.8
    assert report.utility.tstr is not None
    assert {"r2", "mae"} == set(report.utility.tstr.scores)


def test_binary_positive_class_is_the_real_minority(
    same_population: EvaluationReport, train: pd.DataFrame
) -> None:
    minority = train["label"].value_counts().idxmin()
    assert same_population.utility.task == "binary"
    assert same_population.utility.positive_class == minority


def test_wide_table_caps_pairs() -> None:
    rng = np.random.default_rng(0)

    def table(n: int) -> pd.DataFrame:
        return pd.DataFrame({f"c{i}": rng.normal(size=n) for i in range(30)})

    columns = [ColumnInfo(name=f"c{i}", kind="numeric") for i in range(30)]
    report = evaluate(
        real_train=table(300), real_holdout=table(200), synthetic=table(300), columns=columns
    )
    assert report.fidelity.pairs_total == 435
    assert len(report.fidelity.pairs) == 300
    assert report.fidelity.notes
    assert report.fidelity.associations is not None
    assert len(report.fidelity.associations.columns) == 20
