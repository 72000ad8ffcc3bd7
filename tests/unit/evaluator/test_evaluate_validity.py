"""evaluate(): validity beside fidelity, the independent-columns baseline beside every score, and
no utility without a declared target."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from sds_common.tables.formats import ColumnFormat
from sds_evaluator.domain import EvaluationReport, evaluate, render_html
from sds_evaluator.domain.baseline import independent_baseline
from tests.unit.evaluator.tables import COLUMNS, population


@pytest.fixture(scope="module")
def train() -> pd.DataFrame:
    return population(1500, seed=1)


@pytest.fixture(scope="module")
def holdout() -> pd.DataFrame:
    return population(800, seed=2)


def _evaluate(
    train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame, **kwargs: object
) -> EvaluationReport:
    return evaluate(
        real_train=train,
        real_holdout=holdout,
        synthetic=synthetic,
        columns=COLUMNS,
        seed=0,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def broken(train: pd.DataFrame, holdout: pd.DataFrame) -> EvaluationReport:
    """A good synthetic table except that one column came back empty, another out of range."""
    synth = population(1500, seed=3)
    synth["city"] = None
    synth.loc[:299, "hours"] = synth.loc[:299, "hours"] + 1_000
    return _evaluate(train, holdout, synth, target="label")


@pytest.fixture(scope="module")
def good(train: pd.DataFrame, holdout: pd.DataFrame) -> EvaluationReport:
    return _evaluate(train, holdout, population(1500, seed=3), target="label")


def _card(html: str, label: str) -> str:
    match = re.search(
        rf'<div class="card (\w+)"><div class="l">{re.escape(label)}</div>'
        r'<div class="v">([^<]*)</div>',
        html,
    )
    assert match, f"no {label} card"
    return f"{match.group(1)} {match.group(2)}"


def test_empty_and_out_of_range_columns_get_a_low_validity_and_a_flag(
    broken: EvaluationReport,
) -> None:
    assert broken.scores["validity"] == 0.0
    assert broken.scores["validity_flagged_columns"] == 2.0
    flagged = {f.column: f.check for f in broken.validity.flags}
    assert flagged == {"city": "empty", "hours": "out_of_range"}
    data = json.loads(broken.model_dump_json())
    assert data["validity"]["flags"][0]["column"] in {"city", "hours"}
    assert EvaluationReport.model_validate(data) == broken
    # The averaged fidelity barely notices one broken column of six; validity does.
    assert broken.scores["fidelity"] > 0.6


def test_a_good_table_is_valid(good: EvaluationReport) -> None:
    assert good.scores["validity"] > 0.99
    assert good.validity.flags == []
    assert good.scores["validity_flagged_columns"] == 0.0


def test_html_flags_each_failing_column_and_fidelity_cannot_look_good(
    broken: EvaluationReport, good: EvaluationReport
) -> None:
    html = render_html(broken, title="t")
    assert 'id="validity"' in html
    assert html.index('id="validity"') < html.index('id="fidelity"')
    for column in ("city", "hours"):
        assert re.search(rf'<tr class="flagged"><td>{column}</td>', html), column
    assert "came back empty" in html
    assert "outside the real range" in html
    assert _card(html, "Validity") == "poor 0.000"
    # Equal weight: the fidelity card is never rated better than validity.
    assert _card(html, "Fidelity").startswith("poor ")
    assert "2 columns flagged" in html
    assert _card(render_html(good, title="t"), "Validity").startswith("good ")
    assert 'class="flagged"' not in render_html(good, title="t")


def test_formats_are_checked(train: pd.DataFrame, holdout: pd.DataFrame) -> None:
    synth = population(1500, seed=3)
    synth["hours"] = synth["hours"] + 0.001
    report = _evaluate(
        train,
        holdout,
        synth,
        target="label",
        formats={"hours": ColumnFormat(dtype="float64", decimals=1)},
    )
    hours = next(c for c in report.validity.columns if c.name == "hours")
    assert hours.representation == 0.0
    assert [f.check for f in hours.flags] == ["representation"]
    assert report.scores["validity"] == 0.0


def test_baseline_beside_every_score(good: EvaluationReport) -> None:
    scores = good.scores
    for key in ("fidelity", "column_shapes", "column_pairs", "utility_tstr_auc", "utility_ratio"):
        assert f"baseline_{key}" in scores, key
    # Independent columns keep shapes, lose pairs, and predict the label at about chance.
    assert scores["baseline_column_shapes"] > 0.95
    assert scores["baseline_column_pairs"] < scores["column_pairs"] - 0.05
    assert scores["baseline_fidelity"] < scores["fidelity"]
    assert abs(scores["baseline_utility_tstr_auc"] - 0.5) < 0.1
    assert good.utility.baseline is not None
    assert good.utility.baseline.train_on == "baseline"
    metrics = {m.key: m for m in good.fidelity.metrics + good.utility.metrics}
    assert metrics["fidelity"].baseline == scores["baseline_fidelity"]
    assert metrics["utility_tstr_auc"].baseline == scores["baseline_utility_tstr_auc"]


def test_a_baseline_table_scores_its_own_baseline(
    train: pd.DataFrame, holdout: pd.DataFrame
) -> None:
    synth = independent_baseline(train, seed=5)
    report = _evaluate(train, holdout, synth, target="label")
    assert report.scores["fidelity"] == pytest.approx(report.scores["baseline_fidelity"], abs=0.02)


def test_html_shows_the_baseline_and_what_the_model_adds(good: EvaluationReport) -> None:
    html = render_html(good, title="t")
    assert html.count("Independent-columns baseline") >= 2
    assert "Model adds" in html
    fidelity = good.scores["fidelity"] - good.scores["baseline_fidelity"]
    assert f"{fidelity:+.3f}" in html
    assert "<td>baseline</td>" in html


def test_no_declared_target_means_no_utility(train: pd.DataFrame, holdout: pd.DataFrame) -> None:
    report = _evaluate(train, holdout, population(1500, seed=3))
    assert report.utility.status == "no_target"
    assert report.utility.target is None
    assert not any("utility" in key for key in report.scores)
    assert "No target declared" in report.utility.notes[0]
    html = render_html(report, title="t")
    assert "No target declared" in html


def test_tstr_at_chance_is_marked(train: pd.DataFrame, holdout: pd.DataFrame) -> None:
    rng = np.random.default_rng(0)
    synth = population(1500, seed=3)
    synth["label"] = rng.permutation(synth["label"].to_numpy())
    report = _evaluate(train, holdout, synth, target="label")
    assert report.utility.chance_band is not None
    assert 0.02 < report.utility.chance_band < 0.1
    tstr = next(m for m in report.utility.metrics if m.key == "utility_tstr_auc")
    assert tstr.value is not None
    assert abs(tstr.value - 0.5) <= report.utility.chance_band
    assert tstr.note is not None
    assert "chance" in tstr.note
