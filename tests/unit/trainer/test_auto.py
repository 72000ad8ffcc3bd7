"""``auto``: the recommended method, chosen from public facts only and recorded with its reasons."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from sds_trainer.domain.synthesizers import ColumnSpec, InvalidTrainingConfig, PrivacyBudget
from sds_trainer.domain.synthesizers.auto import MAX_AIM_COLUMNS, AutoSynthesizer, choose
from sds_trainer.domain.synthesizers.marginal import AIMSynthesizer, MSTSynthesizer
from tests.unit.trainer.conftest import make_budget, make_specs, make_table


def _specs(n: int) -> list[ColumnSpec]:
    return [ColumnSpec(f"c{i}", "categorical") for i in range(n)]


def test_the_choice_depends_on_public_facts_only() -> None:
    budget = make_budget()
    # Same schema and request: same choice, whatever the rows (the data is not an input).
    first = choose(make_specs(), privacy=budget, params={"focus": "member"})
    again = choose(make_specs(), privacy=budget, params={"focus": "member"})
    assert first == again
    method, params, reasons = first
    assert method is AIMSynthesizer
    assert params == {"focus": "member"}
    assert any("no statistic of the rows" in r for r in reasons)
    # A wide table gets mst, and aim's focus is not passed to a method without one.
    wide, wide_params, wide_reasons = choose(
        _specs(MAX_AIM_COLUMNS + 1), privacy=budget, params={"focus": "c0", "device": "cpu"}
    )
    assert wide is MSTSynthesizer
    assert wide_params == {"device": "cpu"}
    assert any(r.startswith("mst:") for r in wide_reasons)
    # Identifier columns are not modelled, so they do not count.
    keys = [ColumnSpec(f"k{i}", "identifier") for i in range(MAX_AIM_COLUMNS)]
    assert choose([*keys, *_specs(3)], privacy=budget, params={})[0] is AIMSynthesizer


def test_bad_requests_are_refused_with_every_reason() -> None:
    with pytest.raises(InvalidTrainingConfig) as err:
        choose(make_specs(), privacy=make_budget(), params={"epochs": 3, "speed": 1})
    assert len(err.value.reasons) == 2
    with pytest.raises(InvalidTrainingConfig, match="privacy settings are required"):
        choose(make_specs(), privacy=None, params={})


def test_fit_records_the_choice_and_the_model_samples_and_reloads() -> None:
    model = AutoSynthesizer()
    report = model.fit(
        make_table(), columns=make_specs(), privacy=make_budget(), params={"focus": "member"}
    )
    assert report.choice is not None
    assert report.choice["method"] == "aim"
    assert report.choice["params"] == {"focus": "member"}
    assert report.choice["reasons"]
    assert report.epsilon is not None
    assert report.epsilon <= make_budget().epsilon
    sample = model.sample(50, seed=2)
    assert list(sample.columns) == list(make_table().columns)
    loaded = AutoSynthesizer.load(model.save())
    pd.testing.assert_frame_equal(loaded.sample(50, seed=2), sample)
    with pytest.raises(Exception, match="not a saved auto model"):
        AutoSynthesizer.load(b"garbage")


def test_declared_metadata_is_counted_in_the_reasons() -> None:
    specs = [
        dataclasses.replace(s, bounds=(0.0, 120.0)) if s.name == "age" else s for s in make_specs()
    ]
    _, _, reasons = choose(specs, privacy=PrivacyBudget(epsilon=3.0, delta=1e-6), params={})
    assert "1 with declared public metadata" in reasons[0]
    assert "ε = 3" in reasons[0]
