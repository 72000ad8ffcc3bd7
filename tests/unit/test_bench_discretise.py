"""The smartnoise worker's discretisation: pure functions, no smartnoise needed."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest

from benchmarks._peers.discretise import MISSING, dp_bounds, plan


def _round_trip(p, values: Sequence[float | None], seed: int = 0) -> pd.Series:
    return p.decode(p.encode(pd.Series(values, dtype="float64")), np.random.default_rng(seed))


def test_integers_inside_declared_bounds_get_one_code_each_and_come_back_exactly() -> None:
    p = plan(low=17, high=90, integer=True)  # Adult's age, declared
    assert p.per_integer
    assert p.codes == 74
    ages = [17.0, 18.0, 45.0, 89.0, 90.0]
    assert p.encode(pd.Series(ages)).tolist() == [0, 1, 28, 72, 73]
    assert _round_trip(p, ages).tolist() == ages
    # Outside the bounds: clipped, as a DP release with these bounds must.
    assert _round_trip(p, [3.0, 200.0]).tolist() == [17.0, 90.0]


def test_too_many_integers_are_binned_but_still_decode_to_integers_within_bounds() -> None:
    p = plan(low=0, high=99_999, integer=True)  # Adult's capital-gain, declared
    assert not p.per_integer
    assert p.codes <= 2 * 16 + 1
    values = pd.Series(np.arange(0, 100_000, 7, dtype="float64"))
    back = p.decode(p.encode(values), np.random.default_rng(1))
    assert (back == back.round()).all()
    assert back.between(0, 99_999).all()


def test_a_dominant_zero_has_a_code_of_its_own_and_comes_back_as_zero() -> None:
    p = plan(low=0, high=99_999, integer=True)
    assert p.specials == (0.0,)
    codes = p.encode(pd.Series([0.0, 1.0, 2.0]))
    assert codes[0] == 0
    assert codes[1] != 0  # 1 is in the first bin, not in 0's code
    rng = np.random.default_rng(2)
    assert (p.decode(pd.Series([0] * 50), rng) == 0).all()
    # No bin's draw gives back a 0: the bins above it start at 1.
    ones = p.decode(pd.Series([codes[1]] * 200), rng)
    assert (ones >= 1).all()
    # A float column whose range holds 0 keeps it exact as well.
    floats = plan(low=-5.0, high=5.0, integer=False)
    assert _round_trip(floats, [0.0]).tolist() == [0.0]


def test_skewed_columns_get_log_spaced_bins_and_even_ones_linear() -> None:
    skewed = plan(low=0, high=99_999, integer=True)
    edges = np.asarray(skewed.edges)
    # Fine where a skewed column's mass is: several bins below 100, far narrower than range/32.
    assert (edges < 100).sum() >= 5
    assert edges[1] - edges[0] < 99_999 / 16 / 100
    even = plan(low=40.0, high=80.0, integer=False)  # e.g. a depth in percent
    widths = np.diff(even.edges)
    assert np.allclose(widths, widths[0])
    assert even.specials == ()


def test_decode_inverts_encode_up_to_the_bin_and_never_leaves_it() -> None:
    p = plan(low=0.0, high=190.0, integer=False)  # a skewed float column (thousands of chars)
    rng = np.random.default_rng(3)
    values = pd.Series(rng.exponential(10.0, size=2_000).clip(0, 190))
    codes = p.encode(values)
    back = p.decode(codes, rng)
    # Decoded values fall in the bin they came from: encoding them again gives the same codes.
    assert (p.encode(back) == codes).all()
    assert back.between(0.0, 190.0).all()


def test_missing_values_have_their_own_code_both_ways() -> None:
    p = plan(low=0, high=10, integer=True)
    codes = p.encode(pd.Series([1.0, None, 3.0]))
    assert codes.tolist() == [1, MISSING, 3]
    back = p.decode(codes, np.random.default_rng(0))
    assert back.isna().tolist() == [False, True, False]


def test_plan_depends_on_bounds_and_settings_only() -> None:
    assert plan(low=0, high=500, integer=True) == plan(low=0, high=500, integer=True)
    with pytest.raises(ValueError, match="bounds"):
        plan(low=3.0, high=1.0, integer=False)
    constant = plan(low=2013, high=2013, integer=True)
    assert constant.codes == 1
    assert _round_trip(constant, [2013.0, 2013.0]).tolist() == [2013.0, 2013.0]


def test_dp_bounds_cover_the_data_in_power_of_two_buckets() -> None:
    rng = np.random.default_rng(0)
    values = pd.Series(rng.integers(17, 91, size=5_000).astype("float64"))
    low, high = dp_bounds(values, epsilon=0.1, rng=rng, integer=True)
    # The buckets [16, 32) ... [64, 128) and no further.
    assert (low, high) == (16.0, 128.0)
    money = pd.Series(np.r_[np.zeros(4_000), rng.integers(100, 40_000, size=1_000)].astype(float))
    low, high = dp_bounds(money, epsilon=0.1, rng=rng, integer=True)
    assert low == 0.0
    assert 40_000 <= high <= 65_536


def test_dp_bounds_ignore_a_lone_outlier_and_need_a_positive_epsilon() -> None:
    rng = np.random.default_rng(5)
    values = pd.Series(np.r_[rng.uniform(1, 2, size=3_000), [1e9]])
    _, high = dp_bounds(values, epsilon=1.0, rng=rng, integer=False)
    assert high == 2.0  # one row cannot pass the threshold: that is what protects it
    with pytest.raises(ValueError, match="epsilon"):
        dp_bounds(values, epsilon=0.0, rng=rng, integer=False)
