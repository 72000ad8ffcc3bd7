"""Every ε the trainer reports, recomputed by an independent accountant (Google's dp-accounting).

Opacus' RDP accountant against dp-accounting's RDP accountant, Opacus' PRV accountant against
dp-accounting's PLD accountant, for the mechanisms dp-ctgan composes: the preprocessing's Gaussian
histograms (one step at sample rate 1) and DP-SGD's Poisson-sampled Gaussian steps. The tolerances
and why they hold are in :mod:`tests.support.accounting`.
"""

from __future__ import annotations

import warnings

import pytest

from sds_trainer.domain.synthesizers import FitReport, PrivacyBudget
from sds_trainer.domain.synthesizers.dp_ctgan import DPCTGANSynthesizer
from tests.support.accounting import (
    PRV_ABS,
    History,
    agrees_with_google,
    google_epsilon,
    opacus_epsilon,
)
from tests.support.threads import single_threaded
from tests.unit.trainer.conftest import TINY_PARAMS, make_specs, make_table

SETTINGS: list[tuple[str, History, float]] = [
    ("dp-sgd-typical", [(1.1, 0.01, 1000)], 1e-5),
    ("low-noise", [(0.7, 0.01, 300)], 1e-6),
    ("high-noise-small-eps", [(6.0, 0.1, 100)], 1e-5),
    ("large-batches", [(2.0, 0.2, 50)], 1e-5),
    ("histograms-then-dp-sgd", [(5.0, 1.0, 1), (1.5, 0.2, 10)], 9e-6),
]


@pytest.mark.parametrize(
    ("history", "delta"), [s[1:] for s in SETTINGS], ids=[s[0] for s in SETTINGS]
)
def test_release_epsilon_matches_google_rdp_and_pld(history: History, delta: float) -> None:
    rdp = opacus_epsilon(history, delta=delta, accountant="rdp")
    prv = opacus_epsilon(history, delta=delta, accountant="prv")
    assert agrees_with_google(rdp, history=history, delta=delta, accountant="rdp"), rdp
    assert agrees_with_google(prv, history=history, delta=delta, accountant="prv"), prv
    # RDP is a looser upper bound of the same privacy curve: never below the tight ones.
    assert rdp >= prv - PRV_ABS
    assert rdp >= google_epsilon(history, delta=delta, kind="pld")


def test_the_cross_check_rejects_ten_percent_less_noise_than_recorded() -> None:
    # The tolerances must be able to fail: a mechanism with 10 % less DP-SGD noise than the
    # recorded one is caught by both comparisons.
    recorded: History = [(5.0, 1.0, 1), (1.5, 0.2, 10)]
    actual: History = [(5.0, 1.0, 1), (1.35, 0.2, 10)]
    delta = 9e-6
    for accountant in ("rdp", "prv"):
        ours = opacus_epsilon(actual, delta=delta, accountant=accountant)
        assert not agrees_with_google(ours, history=recorded, delta=delta, accountant=accountant)


@pytest.fixture(scope="module")
def prv_fit() -> tuple[FitReport, PrivacyBudget]:
    """One dp-ctgan fit with the PRV accountant (planning and training both use it)."""
    budget = PrivacyBudget(epsilon=1.0, delta=1e-5, accountant="prv")
    with single_threaded(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="divide by zero", category=RuntimeWarning)
        warnings.filterwarnings("ignore", message="Optimal order is the largest alpha")
        report = DPCTGANSynthesizer().fit(
            make_table(), columns=make_specs(), privacy=budget, params=TINY_PARAMS, seed=1
        )
    return report, budget


def _history(report: FitReport) -> History:
    assert report.preprocessing_noise_multiplier is not None
    assert report.noise_multiplier is not None
    return [
        (report.preprocessing_noise_multiplier, 1.0, 1),
        (report.noise_multiplier, report.sample_rate, report.steps),
    ]


def test_prv_fit_reports_the_epsilon_google_pld_computes(
    prv_fit: tuple[FitReport, PrivacyBudget],
) -> None:
    report, budget = prv_fit
    assert report.accountant == "prv"
    assert report.epsilon is not None
    assert report.epsilon <= budget.epsilon
    # The accountant of the fit saw exactly the preprocessing release plus `steps` DP-SGD steps.
    history = _history(report)
    delta = budget.delta - report.threshold_delta
    assert report.steps == report.epochs * (len(make_table()) // report.batch_size)
    assert report.epsilon == pytest.approx(opacus_epsilon(history, delta=delta, accountant="prv"))
    assert agrees_with_google(report.epsilon, history=history, delta=delta, accountant="prv")
    # The preprocessing share alone is a Gaussian at rate 1, checked the same way.
    assert agrees_with_google(
        report.preprocessing_epsilon, history=history[:1], delta=delta, accountant="prv"
    )


def test_rdp_is_never_tighter_than_prv_for_the_fitted_mechanism(
    prv_fit: tuple[FitReport, PrivacyBudget],
) -> None:
    report, budget = prv_fit
    assert report.epsilon is not None
    history = _history(report)
    delta = budget.delta - report.threshold_delta
    rdp = opacus_epsilon(history, delta=delta, accountant="rdp")
    assert agrees_with_google(rdp, history=history, delta=delta, accountant="rdp")
    # RDP is an upper bound of the same curve PRV computes tightly (up to PRV's own error)...
    assert rdp >= report.epsilon - PRV_ABS
    # ...and a looser one here, which is why the prv fit could afford less noise.
    assert rdp > report.epsilon
