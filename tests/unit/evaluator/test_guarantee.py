"""The generator's guarantee in the evaluation report: parameters read, explained, checked."""

from __future__ import annotations

import pytest

from sds_evaluator.domain import EvaluationReport, evaluate, render_html
from sds_evaluator.domain.guarantee import privacy_guarantee
from tests.unit.evaluator.tables import COLUMNS, population

#: What the evaluation job passes: ModelTrained's facts plus the trainer's privacy report.
TRAINED = {
    "method": "dp-ctgan",
    "differentially_private": True,
    "epsilon": 0.98,
    "delta": 1e-7,
    "report": {
        "epsilon": 0.98,
        "delta": 1e-7,
        "preprocessing_epsilon": 0.12,
        "training_epsilon": 0.86,
        "accountant": "prv",
        "noise_multiplier": 1.37,
        "sample_rate": 0.0833,
        "steps": 36,
        "epochs": 3,
        "max_grad_norm": 1.0,
        "batch_size": 200,
        "device": "cpu",
    },
}


def test_the_trainers_parameters_are_read_and_explained() -> None:
    g = privacy_guarantee(TRAINED)
    assert (g.differentially_private, g.epsilon, g.delta, g.mechanism) == (
        True,
        0.98,
        1e-7,
        "dp-ctgan",
    )
    assert (g.accountant, g.noise_multiplier, g.sample_rate, g.steps, g.max_grad_norm) == (
        "prv",
        1.37,
        0.0833,
        36,
        1.0,
    )
    assert (g.preprocessing_epsilon, g.training_epsilon, g.epochs, g.batch_size) == (
        0.12,
        0.86,
        3,
        200,
    )
    lines = {p.key: p for p in g.explained}
    assert lines["mechanism"].value.startswith("DP-SGD")
    assert "histograms" in lines["mechanism"].value  # preprocessing spent ε too
    assert lines["split"].value == "preprocessing ε = 0.12, training ε = 0.86"
    assert lines["accountant"].meaning.startswith("Privacy random variable")
    assert lines["steps"].value == "36 (3 passes over the data)"
    assert "device" not in g.details  # the report's extras are not guarantee details


def test_a_generator_without_dp_reports_no_parameters() -> None:
    g = privacy_guarantee({"method": "ctgan", "differentially_private": False})
    assert not g.differentially_private
    assert g.explained == []
    assert g.noise_multiplier is None


@pytest.fixture(scope="module")
def dp() -> EvaluationReport:
    # Synthetic rows drawn independently of the training rows: nothing to leak.
    return evaluate(
        real_train=population(300, seed=21),
        real_holdout=population(200, seed=22),
        synthetic=population(300, seed=23),
        columns=COLUMNS,
        privacy=TRAINED,
        seed=0,
    )


def test_the_html_and_json_reports_state_the_parameters(dp: EvaluationReport) -> None:
    check = dp.privacy_guarantee.empirical_check
    assert check is not None
    assert check.startswith("Consistent with the data")
    html = render_html(dp, title="t")
    assert 'id="privacy-parameters"' in html
    assert html.index('id="privacy-parameters"') < html.index('id="privacy-risk"')
    for shown in ("1.37", "0.0833", "36 (3 passes over the data)", "prv", "Clipping norm"):
        assert shown in html, shown
    assert "preprocessing ε = 0.12, training ε = 0.86" in html
    assert "Consistent with the data" in html
    data = dp.model_dump(mode="json")["privacy_guarantee"]
    assert (data["noise_multiplier"], data["sample_rate"], data["steps"]) == (1.37, 0.0833, 36)
    assert data["explained"][0]["key"] == "mechanism"
