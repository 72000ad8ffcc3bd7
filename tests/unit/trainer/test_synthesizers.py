from __future__ import annotations

import dataclasses
import io
from typing import Any

import pandas as pd
import pytest
import torch
from dp_accounting import dp_event, rdp

from sds_trainer.domain.synthesizers import (
    SYNTHESIZERS,
    ColumnSpec,
    EpochReport,
    FitReport,
    InvalidTrainingConfig,
    PrivacyBudget,
    SamplingError,
    TrainingCancelled,
    get_synthesizer,
)
from sds_trainer.domain.synthesizers.base import PUBLIC_METADATA
from sds_trainer.domain.synthesizers.codec.mechanisms import noise_levels
from sds_trainer.domain.synthesizers.dp_ctgan import DPCTGANSynthesizer
from sds_trainer.domain.synthesizers.dp_training import preprocessing_rho, release_epsilon
from tests.unit.trainer.conftest import TINY_PARAMS, make_budget, make_specs, make_table


def _fit(
    table: pd.DataFrame, specs: list[ColumnSpec], budget: PrivacyBudget, **kwargs: Any
) -> tuple[DPCTGANSynthesizer, FitReport]:
    model = DPCTGANSynthesizer()
    report = model.fit(table, columns=specs, privacy=budget, params=TINY_PARAMS, **kwargs)
    return model, report


@pytest.fixture(scope="module")
def fitted():
    """One fit shared by the read-only tests (a fit is the slow part)."""
    table, specs, budget = make_table(), make_specs(), make_budget()
    saved: dict[int, bytes] = {}
    model = DPCTGANSynthesizer()
    report = model.fit(
        table,
        columns=specs,
        privacy=budget,
        params=TINY_PARAMS,
        checkpoint=saved.__setitem__,
    )
    return model, report, saved


def test_registry_lists_methods_and_rejects_unknown_names() -> None:
    assert set(SYNTHESIZERS) == {"auto", "dp-ctgan", "ctgan", "aim", "mst"}
    assert get_synthesizer("dp-ctgan") is DPCTGANSynthesizer
    assert get_synthesizer("dp-ctgan").differentially_private
    assert not get_synthesizer("ctgan").differentially_private
    with pytest.raises(
        InvalidTrainingConfig, match="valid methods: aim, auto, ctgan, dp-ctgan, mst"
    ):
        get_synthesizer("gan")


def test_bad_config_lists_every_reason(table, specs, budget) -> None:
    with pytest.raises(InvalidTrainingConfig) as err:
        DPCTGANSynthesizer().fit(
            table, columns=specs, privacy=budget, params={"pac": 10, "speed": 3, "epochs": 0}
        )
    assert len(err.value.reasons) == 4  # speed, epochs, batch > rows, pac under DP


def test_fit_and_sample_keep_columns_and_dtypes(table, fitted) -> None:
    model, report, _ = fitted
    out = model.sample(123, seed=1)
    kept = table
    assert list(out.columns) == list(kept.columns)  # every column, the id regenerated
    assert out["id"].is_unique
    assert out["id"].dtype == kept["id"].dtype
    assert len(out) == 123
    assert out["age"].dtype == kept["age"].dtype
    assert out["income"].dtype == kept["income"].dtype
    assert out["member"].dtype == kept["member"].dtype
    assert report.epochs == 2
    assert report.steps == 2 * (200 // 40)
    assert report.device == "cpu"
    assert len(report.losses) == 2


def test_epsilon_is_at_most_the_target_and_matches_google_accounting(fitted, budget) -> None:
    _, report, _ = fitted
    assert report.epsilon is not None
    assert report.training_epsilon is not None
    assert report.epsilon <= budget.epsilon
    assert report.epsilon == pytest.approx(budget.epsilon, rel=0.02)
    assert report.epsilon == pytest.approx(report.preprocessing_epsilon + report.training_epsilon)
    assert report.preprocessing_noise_multiplier is not None
    # One accountant composes the preprocessing's joint Gaussian histograms (one step at sample
    # rate 1) with every DP-SGD step; Google's accountant must agree on that composition.
    accountant = rdp.RdpAccountant()
    accountant.compose(dp_event.GaussianDpEvent(report.preprocessing_noise_multiplier))
    event = dp_event.PoissonSampledDpEvent(
        report.sample_rate, dp_event.GaussianDpEvent(report.noise_multiplier)
    )
    accountant.compose(event, report.steps)
    assert report.threshold_delta == pytest.approx(
        budget.delta * budget.preprocessing_epsilon_share
    )
    google = accountant.get_epsilon(budget.delta - report.threshold_delta)
    # Google's accountant uses more Rényi orders, so it can only be a little tighter.
    assert google <= report.epsilon * 1.001
    assert google == pytest.approx(report.epsilon, rel=0.05)


def test_preprocessing_noise_spends_its_share_of_the_budget() -> None:
    rho = preprocessing_rho(epsilon=1.0, delta=1e-6, share=0.1)
    few = noise_levels(rho=rho, histograms=4, thresholded=1)
    many = noise_levels(rho=rho, histograms=16, thresholded=4)
    assert many.discovery == pytest.approx(2 * few.discovery)  # the root of the count
    # The share is of the zCDP budget: alone, the release converts to less than the whole ε.
    alone = release_epsilon([(1 / (2 * rho) ** 0.5, 1.0, 1)], delta=1e-6, accountant="rdp")
    assert 0 < alone < 1.0


def test_same_seed_same_fit_without_dp_and_fresh_noise_with_it(table, specs, budget) -> None:
    plain = [
        DPCTGANSynthesizer().fit(table, columns=specs, privacy=None, params=TINY_PARAMS, seed=3)
        for _ in range(2)
    ]
    assert plain[0].preprocessing_steps == plain[1].preprocessing_steps
    # Under DP the histogram noise, the Poisson sampling and the gradient noise come from OS
    # entropy, never from the seed: a replayable noise stream would void the guarantee.
    a, _ = _fit(table, specs, budget, seed=3)
    b, _ = _fit(table, specs, budget, seed=3)
    assert a._require_fitted()[0].to_state() != b._require_fitted()[0].to_state()


def test_resume_from_checkpoint_keeps_the_accounting(table, specs, budget, fitted) -> None:
    full_model, full, saved = fitted
    assert set(saved) == {1, 2}
    resumed_model, resumed = _fit(table, specs, budget, resume_from=saved[1])
    assert resumed.training_epsilon == pytest.approx(full.training_epsilon, rel=1e-9)
    assert resumed.epsilon == pytest.approx(full.epsilon, rel=1e-9)
    assert resumed.steps == full.steps
    assert resumed.preprocessing_steps == full.preprocessing_steps
    assert resumed.losses[0] == full.losses[0]
    # The random streams are restored too: the resumed run ends where the uninterrupted one did.
    pd.testing.assert_frame_equal(full_model.sample(50, seed=2), resumed_model.sample(50, seed=2))


def test_should_stop_cancels_between_epochs(table, specs, budget) -> None:
    seen: list[EpochReport] = []
    with pytest.raises(TrainingCancelled) as err:
        _fit(table, specs, budget, progress=seen.append, should_stop=lambda: len(seen) >= 1)
    assert err.value.epoch == 1
    assert 0 < err.value.epsilon_spent < budget.epsilon


def test_save_load_round_trip_samples_identically(fitted) -> None:
    model, _, _ = fitted
    loaded = DPCTGANSynthesizer.load(model.save())
    pd.testing.assert_frame_equal(model.sample(300, seed=9), loaded.sample(300, seed=9))


def test_conditions_on_one_category(fitted) -> None:
    model, _, _ = fitted
    out = model.sample(50, seed=1, conditions={"member": True})
    assert out["member"].all()
    with pytest.raises(SamplingError):
        model.sample(5, conditions={"age": 3})


def test_every_preprocessing_step_is_public_or_charged(table, specs, budget) -> None:
    declared = [
        dataclasses.replace(s, bounds=(0.0, 120.0)) if s.name == "age" else s for s in specs
    ]
    _, report = _fit(table, declared, budget)
    steps = report.preprocessing_steps
    # Every modelled column's data-dependent statistics are enumerated...
    assert {s.column for s in steps} == {"id", "age", "income", "colour", "member"}
    for step in steps:
        if step.coverage.startswith(PUBLIC_METADATA):
            assert step.epsilon == 0
        else:
            assert step.coverage.startswith("DP mechanism"), step
            assert step.epsilon > 0, step
    # ...and the charged ones add up to what the report spends on preprocessing.
    assert sum(s.epsilon for s in steps) == pytest.approx(report.preprocessing_epsilon)
    assert report.epsilon is not None
    assert 0 < report.preprocessing_epsilon < report.epsilon <= budget.epsilon
    charged = [s for s in steps if s.epsilon > 0]
    assert all("gaussian" in s.coverage for s in charged)
    assert sum(s.delta for s in steps) == pytest.approx(report.threshold_delta)
    assert report.threshold_delta <= budget.delta * budget.preprocessing_epsilon_share


def test_a_checkpoint_from_the_older_accounting_is_refused(table, specs, budget, fitted) -> None:
    _, _, saved = fitted
    state = torch.load(io.BytesIO(saved[1]), weights_only=True)
    del state["accounting"]  # as written before the preprocessing joined the accountant
    old = io.BytesIO()
    torch.save(state, old)
    with pytest.raises(InvalidTrainingConfig, match="predates"):
        _fit(table, specs, budget, resume_from=old.getvalue())
