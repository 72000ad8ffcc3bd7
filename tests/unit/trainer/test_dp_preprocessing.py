from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sds_trainer.domain.synthesizers import ColumnSpec
from sds_trainer.domain.synthesizers.base import PUBLIC_METADATA
from sds_trainer.domain.synthesizers.dp_preprocessing import (
    dp_discover_categories,
    dp_numeric_summary,
)
from sds_trainer.domain.synthesizers.transformer import (
    MISSING,
    RARE,
    DataTransformer,
    HistogramNoise,
)


def _noise(*, sigma: float = 10.0, epsilon: float = 1.0) -> HistogramNoise:
    return HistogramNoise(sigma=sigma, threshold_delta=1e-6, epsilon=epsilon)


def test_round_trip_without_noise_is_exact_within_bounds(table, specs) -> None:
    kept = [s for s in specs if s.kind != "identifier"]
    t = DataTransformer()
    t.fit(table, columns=kept, noise=None, rng=np.random.default_rng(0))
    back = t.inverse_transform(t.transform(table))
    assert list(back.columns) == ["age", "income", "colour", "member"]
    assert (back["age"] == table["age"]).all()
    assert back["age"].dtype == table["age"].dtype
    np.testing.assert_allclose(back["income"], table["income"], rtol=1e-5)
    assert back["income"].isna().sum() == table["income"].isna().sum()
    assert back["colour"].isna().sum() == 19
    known = table["colour"].notna()
    assert (back["colour"][known] == table["colour"][known]).all()
    assert (back["member"] == table["member"]).all()


@pytest.mark.parametrize(
    ("unit", "tz"), [("s", None), ("ms", None), ("us", None), ("ns", None), ("us", "Europe/Paris")]
)
def test_dates_round_trip_in_any_resolution(unit: str, tz: str | None) -> None:
    # pandas 3 parses dates to microseconds; reading the raw integers as nanoseconds once put
    # every dp-ctgan date in January 1970.
    days = pd.to_timedelta(np.random.default_rng(1).integers(0, 3650, 300), unit="D")
    when = (pd.Timestamp("2015-03-01", tz=tz) + days).as_unit(unit)
    table = pd.DataFrame({"when": when})
    t = DataTransformer()
    t.fit(table, columns=[ColumnSpec("when", "datetime")], noise=None, rng=np.random.default_rng(0))
    back = t.inverse_transform(t.transform(table))
    assert back["when"].dtype == table["when"].dtype
    assert (back["when"] - table["when"]).abs().max() < pd.Timedelta(minutes=5)


def test_round_trip_with_dp_clips_to_released_bounds(table, specs) -> None:
    kept = [s for s in specs if s.kind != "identifier"]
    t = DataTransformer()
    t.fit(table, columns=kept, noise=_noise(sigma=1.0), rng=np.random.default_rng(0))
    back = t.inverse_transform(t.transform(table))
    edges = t.columns[0]["edges"]
    assert back["age"].between(edges[0] - 0.5, edges[-1] + 0.5).all()
    inside = table["age"].between(edges[0], edges[-1])
    assert (back["age"][inside] - table["age"][inside]).abs().max() <= 0.5


def test_public_metadata_costs_no_epsilon() -> None:
    data = pd.DataFrame({"x": np.linspace(0, 10, 200), "c": ["a", "b"] * 100})
    cols = [
        ColumnSpec("x", "numeric", bounds=(0.0, 10.0)),
        ColumnSpec("c", "categorical", categories=("a", "b")),
    ]
    t = DataTransformer(numeric_modes="uniform")
    steps = t.fit(data, columns=cols, noise=_noise(epsilon=0.5), rng=np.random.default_rng(0))
    by = {(s.column, s.statistic): s for s in steps}
    assert by[("x", "bounds")].coverage == PUBLIC_METADATA
    assert by[("x", "bounds")].epsilon == 0
    assert by[("x", "mode edges")].epsilon == 0
    assert by[("c", "categories")].coverage == PUBLIC_METADATA
    # Category frequencies feed the conditional sampler: they are data, so they cost ε.
    assert by[("c", "frequencies")].epsilon == pytest.approx(0.5)
    assert t.columns[1]["categories"][:2] == ["a", "b"]


def test_undeclared_statistics_spend_epsilon() -> None:
    data = pd.DataFrame({"x": np.linspace(0, 10, 200), "c": ["a", "b"] * 100})
    cols = [ColumnSpec("x", "numeric"), ColumnSpec("c", "categorical")]
    steps = DataTransformer().fit(
        data, columns=cols, noise=_noise(epsilon=0.5), rng=np.random.default_rng(0)
    )
    assert sum(s.epsilon for s in steps) == pytest.approx(0.5)
    assert all(s.epsilon > 0 for s in steps)
    assert any(s.delta > 0 for s in steps if s.column == "c")


def test_a_category_held_by_one_row_is_never_released() -> None:
    values = ["common"] * 5000 + ["unique"]
    for seed in range(20):
        found = dp_discover_categories(
            values, sigma=50.0, delta=1e-6, rng=np.random.default_rng(seed)
        )
        assert "unique" not in found.categories
        assert "common" in found.categories


def test_rare_values_collapse_into_the_rare_bucket(table, specs) -> None:
    kept = [s for s in specs if s.kind != "identifier"]
    t = DataTransformer()
    t.fit(table, columns=kept, noise=_noise(sigma=5.0), rng=np.random.default_rng(0))
    colour = next(c for c in t.columns if c["name"] == "colour")
    assert "one-of-a-kind" not in colour["categories"]
    assert RARE in colour["categories"]
    assert MISSING in colour["categories"]
    # A value DP could not release is never invented: the rare bucket decodes as missing.
    assert pd.isna(t.inverse_transform(t.transform(table.iloc[:1]))["colour"][0])


class _CountingRng:
    """Passes draws through to a real generator, counting the Gaussian releases at ``sigma``."""

    def __init__(self, sigma: float) -> None:
        self.sigma = sigma
        self.releases = 0
        self._rng = np.random.default_rng(0)

    def normal(self, *, scale: float, size: tuple[int, ...]) -> np.ndarray:
        if scale == self.sigma:
            self.releases += 1
        return self._rng.normal(scale=scale, size=size)

    def __getattr__(self, name: str) -> object:
        return getattr(self._rng, name)


def test_every_noisy_histogram_drawn_is_planned_and_charged(table) -> None:
    # The noise scale comes from the planned mechanism count: a histogram drawn but not planned
    # (e.g. a second grid added to a numeric column) would be released with too little noise.
    specs = [
        ColumnSpec("age", "numeric", integer=True),
        ColumnSpec("income", "numeric", nullable=True),
        ColumnSpec("bounded", "numeric", bounds=(0.0, 120.0)),
        ColumnSpec("colour", "categorical", categories=("red", "green", "blue")),
        ColumnSpec("member", "boolean"),
    ]
    data = table.assign(bounded=table["age"].astype(float))
    t = DataTransformer()
    rng = _CountingRng(sigma=3.0)
    steps = t.fit(data, columns=specs, noise=_noise(sigma=3.0), rng=rng)  # type: ignore[arg-type]
    charged = [s for s in steps if s.epsilon > 0]
    assert rng.releases == len(charged) == t.plan(specs)[0]
    assert rng.releases == 2 * 3 + 2  # two grids per numeric column, one per discrete column


@pytest.mark.parametrize("integer", [True, False])
def test_a_spike_at_zero_in_wide_declared_bounds_keeps_a_bin_of_its_own(integer: bool) -> None:
    """An amount declared 0-99,999 that is 0 for 90 % of rows: the zeros decode to 0, not 0-48."""
    rng = np.random.default_rng(3)
    n = 20_000
    tail = rng.integers(100, 99_999, size=n).astype(np.float64)
    values = np.where(rng.random(n) < 0.9, 0.0, tail)
    summary = dp_numeric_summary(
        values, bounds=(0.0, 99_999.0), n_modes=8, sigma=5.0, rng=rng, integer=integer
    )
    knots, probs = summary.cdf
    share_of_zeros = float(np.mean(values == 0.0))
    # The released CDF has the zeros' whole mass by 1 (below the first non-zero value).
    assert np.interp(1.0, knots, probs) == pytest.approx(share_of_zeros, abs=0.01)
    assert summary.low <= 0.0
    assert summary.high >= 99_999.0
