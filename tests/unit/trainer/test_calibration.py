"""Calibration of sampled marginals to the released DP marginals (logit offsets, quantiles)."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pandas as pd
import pytest

from sds_trainer.domain.synthesizers import ColumnSpec
from sds_trainer.domain.synthesizers.calibration import (
    calibration_offsets,
    fit_offsets,
    released_targets,
)
from sds_trainer.domain.synthesizers.codec import CategoricalDomain, NumericDomain, TableCodec
from sds_trainer.domain.synthesizers.codec.mechanisms import NoiseLevels
from sds_trainer.domain.synthesizers.dp_ctgan import DPCTGANSynthesizer
from sds_trainer.domain.synthesizers.modes import mode_edges, released_cdf
from sds_trainer.domain.synthesizers.transformer import (
    DataTransformer,
    HistogramNoise,
    NumericEncoding,
    rank_levels,
)
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


def _domain(edges: list[float], weights: list[float], **kw: object) -> NumericDomain:
    fields = {
        "name": "x",
        "kind": "numeric",
        "dtype": "float64",
        "unit": 1.0,
        "grid": False,
        "decimals": None,
        "missing": False,
        "atoms": [],
        "atom_weights": [],
        **kw,
    }
    return NumericDomain(edges=edges, weights=weights, **fields)  # type: ignore[arg-type]


def test_quantile_mapping_follows_the_released_distribution_and_keeps_the_order() -> None:
    rng = np.random.default_rng(2)
    values = rng.normal(size=5000)
    # Released: half the mass uniform on [0, 1], none on (1, 5), half uniform on [5, 6].
    domain = _domain([0.0, 1.0, 5.0, 6.0], [0.5, 0.0, 0.5])
    out = domain.quantile(rank_levels(values, rng.random(5000)))
    assert np.all(np.argsort(out, kind="stable") == np.argsort(values, kind="stable"))
    assert not np.any((out > 1.0) & (out < 5.0))  # no value where the release has no mass
    assert np.mean(out <= 1.0) == pytest.approx(0.5, abs=1e-3)
    assert np.quantile(out, 0.25) == pytest.approx(0.5, abs=0.02)
    # On a grid, the mapped values are whole units.
    grid = _domain([-0.5, 2.5, 9.5], [1.0, 1.0], grid=True)
    mapped = grid.quantile(rank_levels(values, rng.random(5000)))
    assert np.array_equal(mapped, np.round(mapped))
    assert set(mapped) <= set(range(10)) - {3, 4, 5, 6, 7, 8, 9} | set(range(3, 10))


def _codec(frame: pd.DataFrame, spec: ColumnSpec) -> NumericDomain:
    codec = TableCodec.fit(
        frame,
        [spec],
        noise=NoiseLevels(15.0, 30.0),
        threshold_delta=1e-9,
        rng=np.random.default_rng(3),
        charge=lambda *_: None,
        frequencies=True,
    )
    domain = codec.domains[0]
    assert isinstance(domain, NumericDomain)
    return domain


def test_an_integer_spike_is_one_mode_and_a_zero_spike_maps_onto_exactly_zero() -> None:
    rng = np.random.default_rng(3)
    hours = np.where(rng.random(20_000) < 0.5, 40, rng.integers(1, 99, size=20_000))
    domain = _codec(pd.DataFrame({"h": hours}), ColumnSpec("h", "numeric", integer=True))
    edges = mode_edges(domain, n_modes=10)
    assert (39.5, 40.5) in set(itertools.pairwise(edges))
    mass = released_cdf(domain, np.asarray([40.5])) - released_cdf(domain, np.asarray([39.5]))
    assert float(mass[0]) == pytest.approx(np.mean(hours == 40), abs=0.01)
    # 90 % zeros, the rest three decades away, not integers: the zeros are an atom, a mode of
    # their own, and quantile mapping puts them on exactly 0.
    gain = np.where(rng.random(20_000) < 0.9, 0.0, rng.uniform(2_000, 9_000, size=20_000))
    domain = _codec(pd.DataFrame({"g": gain}), ColumnSpec("g", "numeric"))
    edges = mode_edges(domain, n_modes=10)
    assert edges[0] == 0.0
    assert edges[1] < 1e-6
    mapped = domain.quantile(rank_levels(rng.normal(size=1000), rng.random(1000)))
    assert np.mean(mapped == 0.0) == pytest.approx(0.9, abs=0.02)
    assert mapped.max() >= 4_000


def test_targets_are_the_stored_dp_releases_not_the_data() -> None:
    table, specs = make_table(), make_specs()
    transformer = DataTransformer()
    noise = HistogramNoise(levels=NoiseLevels(5.0, 10.0), threshold_delta=1e-6, epsilon=1.0)
    transformer.fit(table, columns=specs, noise=noise, rng=np.random.default_rng(0))
    targets = released_targets(transformer)
    # Every modelled column has a released marginal; a number that keeps its missing code (its
    # missing count stood clear of the noise) has a missing share too.
    missing = sum(
        isinstance(e, NumericEncoding) and e.domain.missing for e in transformer.encodings
    )
    assert len(targets) == len(transformer.encodings) + missing
    colour = next(
        e for e in transformer.encodings if isinstance(e, CategoricalDomain) and e.name == "colour"
    )
    freq = np.asarray(colour.counts)
    [_target] = [
        t for t in targets if t.dim == colour.size and np.allclose(t.shares, freq / freq.sum())
    ]
    assert freq[colour.categories.index("red")] != (table["colour"] == "red").sum()
    income = next(e for e in transformer.encodings if isinstance(e, NumericEncoding))
    assert released_cdf(income.domain, np.asarray([income.domain.low]))[0] == 0
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
    col = next(
        e
        for e in model._require_fitted()[0].encodings
        if isinstance(e, CategoricalDomain) and e.name == "member"
    )
    target = np.maximum(np.asarray(col.counts), 0)
    target = target / target.sum()

    def gap(frame: pd.DataFrame) -> float:
        got = [np.mean(frame["member"].astype(str) == c) for c in col.categories]
        return float(np.abs(np.asarray(got) - target).max())

    assert gap(calibrated) < 0.02
    assert gap(calibrated) < gap(raw)


def test_sampling_maps_numeric_values_onto_the_released_distribution(calibrated_and_raw) -> None:
    calibrated, _, model = calibrated_and_raw
    col = next(
        e
        for e in model._require_fitted()[0].encodings
        if isinstance(e, NumericEncoding) and e.domain.name == "age"
    )
    values = calibrated["age"].dropna().to_numpy(dtype=float)
    grid = np.asarray(col.domain.edges)
    empirical = np.searchsorted(np.sort(values), grid, side="left") / len(values)
    assert np.abs(empirical - released_cdf(col.domain, grid)).max() < 0.03


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
