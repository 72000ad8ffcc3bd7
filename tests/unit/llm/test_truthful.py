"""Explanations judge every score against the baseline and the ceiling, call chance chance, lead
with broken columns, and advise only what exists for the method used."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from sds_llm import features
from sds_llm.adapters.providers.offline import OfflineProvider
from sds_llm.domain import prompts, redaction
from sds_llm.domain.assessment import Assessment, assess
from tests.unit.llm.fakes import MARKER, MemoryLedger, RecordingProvider, assistant_for, report

_PRAISE = re.compile(r"\b(high|good|strong|very well|excellent|faithful)\b", re.IGNORECASE)
_TRAINING_KNOBS = re.compile(r"epoch|batch|learning rate|discriminator", re.IGNORECASE)


def _unseen_table_run(method: str = "aim") -> dict[str, Any]:
    """The issue's run: fidelity under the baseline, TSTR at chance, nothing broken."""
    data = copy.deepcopy(report())
    data["method"] = method
    data["privacy_guarantee"]["mechanism"] = method.upper() if method != "dp-ctgan" else "DP-SGD"
    data["privacy_guarantee"]["epsilon"] = 1.0
    data["scores"] = {
        "validity": 1.0,
        "validity_flagged_columns": 0.0,
        "fidelity": 0.82,
        "column_shapes": 0.93,
        "column_pairs": 0.71,
        "fidelity_reference": 0.95,
        "baseline_fidelity": 0.83,
        "baseline_column_shapes": 0.97,
        "baseline_column_pairs": 0.69,
        "utility_tstr_auc": 0.50,
        "utility_trtr_auc": 0.72,
        "utility_ratio": 0.50 / 0.72,
        "baseline_utility_tstr_auc": 0.51,
        "dcr_share": 0.5,
        "exact_copies": 0.0,
        "mia_auc": 0.5,
        "mia_epsilon_lower_bound": 0.0,
    }
    data["utility"] = {
        "status": "ok",
        "target": "Class",
        "task": "binary",
        "positive_class": MARKER,
        "chance_band": 0.03,
        "metrics": [],
        "notes": [],
    }
    data["validity"] = {"metrics": [], "columns": [], "flags": [], "notes": []}
    return data


def _judged(data: dict[str, Any]) -> Assessment:
    return assess(redaction.evaluation_facts(data))


def _everything(result: Assessment) -> str:
    return " ".join([result.headline, *(f.text for f in result.findings), *result.recommendations])


def test_fidelity_below_the_baseline_is_never_called_good() -> None:
    result = _judged(_unseen_table_run())
    fidelity = [f for f in result.findings if f.topic == "fidelity"]
    assert fidelity[0].severity == "poor"
    assert "below the independent-columns baseline (0.83)" in result.headline
    assert not _PRAISE.search(result.headline), result.headline
    assert not _PRAISE.search(fidelity[0].text), fidelity[0].text
    assert not any("No change needed" in r for r in result.recommendations)


def test_fidelity_between_baseline_and_ceiling_is_judged_by_the_gap_closed() -> None:
    data = _unseen_table_run()
    data["scores"].update(fidelity=0.93, baseline_fidelity=0.83, fidelity_reference=0.95)
    result = _judged(data)
    assert "high" in result.headline
    assert "83% of the gap" in result.headline
    data["scores"].update(fidelity=0.86)
    assert "low" in _judged(data).headline


def test_tstr_at_chance_is_no_utility() -> None:
    result = _judged(_unseen_table_run())
    utility = next(f for f in result.findings if f.topic == "utility")
    assert utility.severity == "poor"
    assert "no utility" in utility.text
    assert "chance" in utility.text
    assert "0.50" in utility.text
    assert "70%" not in utility.text
    assert "of the quality" not in utility.text


def test_tstr_no_better_than_the_baseline_is_called_so() -> None:
    data = _unseen_table_run()
    data["scores"].update(utility_tstr_auc=0.62, baseline_utility_tstr_auc=0.63)
    utility = next(f for f in _judged(data).findings if f.topic == "utility")
    assert utility.severity == "poor"
    assert "no better than the independent-columns baseline (0.63)" in utility.text


def test_useful_tstr_is_measured_by_the_lift_over_chance() -> None:
    data = _unseen_table_run()
    data["scores"].update(
        utility_tstr_auc=0.86, utility_trtr_auc=0.90, baseline_utility_tstr_auc=0.52
    )
    utility = next(f for f in _judged(data).findings if f.topic == "utility")
    assert utility.severity == "good"
    assert "90% of the real-data model's lift over chance" in utility.text


def test_r2_at_or_below_zero_is_no_utility() -> None:
    data = _unseen_table_run()
    for key in ("utility_tstr_auc", "utility_trtr_auc", "baseline_utility_tstr_auc"):
        data["scores"].pop(key)
    data["scores"].update(utility_tstr_r2=-0.02, utility_trtr_r2=0.4, utility_ratio=0.0)
    data["utility"].update(task="regression", chance_band=0.0)
    utility = next(f for f in _judged(data).findings if f.topic == "utility")
    assert "no utility" in utility.text
    assert "R² -0.02" in utility.text


def test_no_target_declared() -> None:
    data = _unseen_table_run()
    for key in list(data["scores"]):
        if "utility" in key:
            data["scores"].pop(key)
    data["utility"] = {"status": "no_target", "metrics": [], "notes": []}
    result = _judged(data)
    utility = next(f for f in result.findings if f.topic == "utility")
    assert "No target column was declared" in utility.text
    assert any("Declare the target column" in r for r in result.recommendations)


@pytest.mark.parametrize("method", ["aim", "mst"])
def test_marginal_methods_get_no_training_knobs(method: str) -> None:
    result = _judged(_unseen_table_run(method))
    text = " ".join(result.recommendations)
    assert not _TRAINING_KNOBS.search(text), text
    assert "public metadata" in text
    assert "Raise ε from 1" in text
    focus = "weighs the marginals that hold" in text
    assert focus == (method == "aim")


def test_dp_ctgan_may_be_told_to_train_longer() -> None:
    result = _judged(_unseen_table_run("dp-ctgan"))
    assert any("epochs" in r for r in result.recommendations)


def test_an_unknown_method_gets_no_method_specific_knob() -> None:
    data = _unseen_table_run()
    data["method"] = f"custom-{MARKER}"
    data["privacy_guarantee"]["mechanism"] = None
    facts = redaction.evaluation_facts(data)
    assert facts["method"] is None
    text = " ".join(assess(facts).recommendations)
    assert not _TRAINING_KNOBS.search(text)
    assert "weighs the marginals" not in text


def _broken_run() -> dict[str, Any]:
    data = _unseen_table_run()
    data["scores"].update(validity=0.0, validity_flagged_columns=2.0, fidelity=0.88)
    data["validity"]["flags"] = [
        {"column": "city", "check": "empty", "reason": f"came back empty {MARKER}"},
        {"column": "hours", "check": "out_of_range", "reason": f"20% outside {MARKER}"},
        {"column": "joined", "check": f"bogus{MARKER}", "reason": MARKER},
    ]
    return data


def test_broken_columns_lead_the_explanation() -> None:
    result = _judged(_broken_run())
    assert result.headline.startswith("2 columns are invalid")
    assert "city (came back empty)" in result.headline
    assert "hours (values outside the real range)" in result.headline
    assert result.findings[0].topic == "validity"
    assert result.findings[0].severity == "poor"
    assert any("city" in r and "public metadata" in r for r in result.recommendations)
    assert MARKER not in _everything(result)


async def test_offline_and_hosted_explanations_carry_the_judgement() -> None:
    offline = await features.explain_evaluation(
        _unseen_table_run(),
        assistant=assistant_for(OfflineProvider()),
        project_id="p",
        ledger=MemoryLedger(),
    )
    assert "Fidelity 0.82 is high" not in offline.summary
    assert "below the independent-columns baseline" in offline.summary
    assert "no utility" in offline.summary
    assert not _TRAINING_KNOBS.search(offline.summary)
    provider = RecordingProvider()
    await features.explain_evaluation(
        _broken_run(), assistant=assistant_for(provider), project_id="p", ledger=MemoryLedger()
    )
    prompt = provider.prompts[0]
    facts = prompt.facts
    assert facts["method"] == "aim"
    assert facts["scores"]["baseline_fidelity"] == 0.83  # type: ignore[index, call-overload]
    assert facts["validity_flags"] == [
        {"column": "city", "check": "empty"},
        {"column": "hours", "check": "out_of_range"},
    ]
    for rule in ("baseline", "chance", "no utility", "method"):
        assert rule in prompt.system, rule
    assert MARKER not in prompt.all_text()


def test_the_explanation_prompt_is_built_from_the_judgement() -> None:
    facts = redaction.evaluation_facts(_unseen_table_run())
    prompt = prompts.explanation(facts, assess(facts))
    assert "below the independent-columns baseline" in prompt.user


async def test_privacy_advice_names_only_knobs_of_the_advised_method() -> None:
    result = await features.privacy_advice(
        n_rows=800,
        columns=None,
        n_columns=6,
        use="sharing",
        assistant=assistant_for(OfflineProvider()),
        project_id="p",
        ledger=MemoryLedger(),
    )
    assert result.method == "aim"
    assert result.epochs is None
    assert not _TRAINING_KNOBS.search(result.text), result.text
    assert not any(_TRAINING_KNOBS.search(r) for r in result.reasons)
    assert "target column" in result.text
