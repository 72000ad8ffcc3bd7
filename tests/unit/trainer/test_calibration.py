"""Calibration of sampled marginals to the released DP marginals (logit offsets, quantiles)."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pandas as pd
import pytest

from sds_trainer.domain.synthesizers.calibration import (
    calibration_offsets,
    fit_offsets,
    match_quantiles,
    released_targets,
)
from sds_trainer.domain.synthesizers.dp_ctgan import DPCTGANSynthesizer
from sds_trainer.domain.synthesizers.dp_preprocessing import dp_numeric_summary
from sds_trainer.domain.synthesizers.transformer import DataTransformer, HistogramNoise
from tests.unit.trainer.conftest import TINY_PARAMS, make_budget, make_specs, make_table


def _gumbel(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    return -np.log(-np.log(rng.uniform(1e-12, 1.0, size=shape)))


def test_offsets_move_the_sampled_shares_to_the_targets() -> None:
    rng = np.random.default_rng(0)
    n = 20_000
    # Rows with their own preferences (the generator's per-row logits), sampled by Gumbel-max.
    logits = rng.normal(size=(n, 4)) + np.array([1.0, 0.5, 0.0, -1.0]) + _gumbel(rng, (n, 4))
    shares = np.array([0.1, 0.2, 0.3, 0.4])
    offsets = fit_offsets(logits, shares)
    got = np.bincount((logits + offsets).argmax(axis=1), minlength=4) / n
    np.testing.assert_allclose(got, shares, atol=2e-3)
    before = np.bincount(logits.argmax(axis=1), minlength=4) / n
    assert np.abs(before - shares).max() > 0.2  # far off before the offsets
    # Rows move only as much as the shares must: close to the total-variation distance (the
    # least possible), far from redrawing every row.
    moved = (logits + offsets).argmax(axis=1) != logits.argmax(axis=1)
    assert moved.mean() < 1.2 * np.abs(before - shares).sum() / 2


def test_quantile_mapping_follows_the_target_cdf_and_keeps_the_order() -> None:
    rng = np.random.default_rng(2)
    values = rng.normal(size=5000)
    # Target: half the mass uniform on [0, 1], none on (1, 5), half uniform on [5, 6].
    knots = np.array([0.0, 1.0, 5.0, 6.0])
    cdf = np.array([0.0, 0.5, 0.5, 1.0])
    out = match_quantiles(values, knots=knots, cdf=cdf, jitter=rng.random(5000))
    assert np.all(np.argsort(out, kind="stable") == np.argsort(values, kind="stable"))
    assert not np.any((out > 1.0) & (out < 5.0))  # no value where the target has no mass
    assert np.mean(out <= 1.0) == pytest.approx(0.5, abs=1e-3)
    assert np.quantile(out, 0.25) == pytest.approx(0.5, abs=0.02)


def test_an_integer_spike_is_one_mode_and_a_zero_inflated_tail_survives_the_noise() -> None:
    rng = np.random.default_rng(3)
    hours = np.where(rng.random(20_000) < 0.5, 40, rng.integers(1, 99, size=20_000))
    summary = dp_numeric_summary(
        hours.astype(float), bounds=None, n_modes=10, sigma=30.0, rng=rng, integer=True
    )
    assert (39.5, 40.5) in set(itertools.pairwise(summary.edges))
    knots, cdf = np.asarray(summary.cdf[0]), np.asarray(summary.cdf[1])
    assert np.interp(40.5, knots, cdf) - np.interp(39.5, knots, cdf) == pytest.approx(
        np.mean(hours == 40), abs=0.01
    )
    # 90 % zeros, the rest three decades away: the tail is far from the spike, not noise.
    gain = np.where(rng.random(20_000) < 0.9, 0.0, rng.uniform(2_000, 9_000, size=20_000))
    summary = dp_numeric_summary(gain, bounds=None, n_modes=10, sigma=30.0, rng=rng, integer=True)
    assert summary.high >= 9_000
    assert summary.edges[:2] == (-0.5, 0.5)  # the spike at 0 is a mode of its own
    # Not integers: the spike still maps onto exactly 0.
    summary = dp_numeric_summary(gain, bounds=None, n_modes=10, sigma=30.0, rng=rng)
    mapped = match_quantiles(
        rng.normal(size=1000),
        knots=np.asarray(summary.cdf[0]),
        cdf=np.asarray(summary.cdf[1]),
        jitter=rng.random(1000),
    )
    assert np.mean(mapped == 0.0) == pytest.approx(0.9, abs=0.02)
    assert mapped.max() >= 8_000


def test_targets_are_the_stored_dp_releases_not_the_data() -> None:
    table, specs = make_table(), [s for s in make_specs() if s.kind != "identifier"]
    transformer = DataTransformer()
    noise = HistogramNoise(sigma=5.0, threshold_delta=1e-6, epsilon=1.0)
    transformer.fit(table, columns=specs, noise=noise, rng=np.random.default_rng(0))
    targets = released_targets(transformer)
    assert len(targets) == len(specs)  # every column here has a released marginal
    colour = next(c for c in transformer.columns if c["name"] == "colour")
    freq = np.asarray(colour["frequencies"])
    np.testing.assert_allclose(targets[2].shares, freq / freq.sum())
    assert freq[colour["categories"].index("red")] != (table["colour"] == "red").sum()
    income = next(c for c in transformer.columns if c["name"] == "income")
    assert income["cdf_p"][0] == 0
    assert income["cdf_p"][-1] == pytest.approx(1.0)
    # Offsets come from the generator's logits and those targets only: rows whose numeric
    # value is generated missing do not count towards the mode shares.
    logits = transformer.transform(table).astype(np.float32)
    offsets = calibration_offsets(transformer, logits)
    assert offsets.shape == (transformer.output_dim,)
    assert np.all(offsets[[s.start for s in transformer.spans if s.activation == "tanh"]] == 0)


@pytest.fixture(scope="module")
def calibrated_and_raw() -> tuple[pd.DataFrame, pd.DataFrame, DPCTGANSynthesizer]:
    """Samples of one fitted model with and without the calibration (the same generator)."""
    model = DPCTGANSynthesizer()
    model.fit(make_table(), columns=make_specs(), privacy=make_budget(), params=TINY_PARAMS)
    raw = DPCTGANSynthesizer.load(model.save())
    raw._params = dataclasses.replace(model._require_fitted()[2], match_marginals=False)
    return model.sample(4000, seed=4), raw.sample(4000, seed=4), model


def test_sampling_matches_the_released_category_shares(calibrated_and_raw) -> None:
    calibrated, raw, model = calibrated_and_raw
    col = next(c for c in model._require_fitted()[0].columns if c["name"] == "member")
    target = np.maximum(np.asarray(col["frequencies"]), 0)
    target = target / target.sum()

    def gap(frame: pd.DataFrame) -> float:
        got = [np.mean(frame["member"].astype(str) == c) for c in col["categories"]]
        return float(np.abs(np.asarray(got) - target).max())

    assert gap(calibrated) < 0.02
    assert gap(calibrated) < gap(raw)


def test_sampling_maps_numeric_values_onto_the_released_cdf(calibrated_and_raw) -> None:
    calibrated, _, model = calibrated_and_raw
    col = next(c for c in model._require_fitted()[0].columns if c["name"] == "age")
    values = calibrated["age"].dropna().to_numpy(dtype=float)
    grid = np.asarray(col["cdf_x"])
    empirical = np.searchsorted(np.sort(values), grid, side="right") / len(values)
    assert np.abs(empirical - np.asarray(col["cdf_p"])).max() < 0.03


def test_the_offsets_survive_save_and_load(calibrated_and_raw) -> None:
    _, _, model = calibrated_and_raw
    loaded = DPCTGANSynthesizer.load(model.save())
    assert loaded._offsets is not None
    assert model._offsets is not None
    assert bool(model._offsets.abs().sum() > 0)
    pd.testing.assert_frame_equal(model.sample(500, seed=3), loaded.sample(500, seed=3))


def test_conditional_sampling_is_left_uncalibrated(calibrated_and_raw) -> None:
    # The releases are unconditional marginals: a conditioned sample is the generator's own.
    _, _, model = calibrated_and_raw
    raw = DPCTGANSynthesizer.load(model.save())
    raw._params = dataclasses.replace(model._require_fitted()[2], match_marginals=False)
    condition = {"member": True}
    out = model.sample(300, seed=1, conditions=condition)
    assert out["member"].all()
    pd.testing.assert_frame_equal(out, raw.sample(300, seed=1, conditions=condition))
    assert not model.sample(300, seed=1).equals(raw.sample(300, seed=1))
