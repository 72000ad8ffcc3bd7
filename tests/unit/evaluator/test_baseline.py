"""independent_baseline(): every column's real marginal, no dependence between columns, seeded."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sds_evaluator.domain.baseline import independent_baseline
from tests.unit.evaluator.tables import population


@pytest.fixture(scope="module")
def real() -> pd.DataFrame:
    return population(3000, seed=1, missing=True)


def test_same_columns_dtypes_and_size(real: pd.DataFrame) -> None:
    base = independent_baseline(real, seed=0)
    assert list(base.columns) == list(real.columns)
    assert base.dtypes.to_dict() == real.dtypes.to_dict()
    assert len(base) == len(real)
    assert list(base.index) == list(range(len(real)))
    assert len(independent_baseline(real, rows=500, seed=0)) == 500


def test_values_come_from_the_real_column_with_its_missing_share(real: pd.DataFrame) -> None:
    base = independent_baseline(real, rows=20_000, seed=0)
    assert set(base["city"].dropna()) <= set(real["city"].dropna())
    assert base["city"].isna().mean() == pytest.approx(real["city"].isna().mean(), abs=0.01)
    assert base["age"].mean() == pytest.approx(real["age"].mean(), abs=0.5)


def test_dependence_between_columns_is_broken(real: pd.DataFrame) -> None:
    base = independent_baseline(real, seed=0)
    assert real["age"].corr(real["hours"]) > 0.5
    assert abs(base["age"].corr(base["hours"])) < 0.1


def test_seeded_and_each_column_on_its_own_stream(real: pd.DataFrame) -> None:
    a = independent_baseline(real, seed=7)
    pd.testing.assert_frame_equal(a, independent_baseline(real, seed=7))
    assert not a["age"].equals(independent_baseline(real, seed=8)["age"])
    narrower = independent_baseline(real.drop(columns=["hours"]), seed=7)
    pd.testing.assert_series_equal(narrower["age"], a["age"])


def test_empty_inputs() -> None:
    empty = pd.DataFrame({"x": pd.Series([], dtype="float64")})
    assert len(independent_baseline(empty, seed=0)) == 0
    with pytest.raises(ValueError, match="without rows"):
        independent_baseline(empty, rows=3, seed=0)
    with pytest.raises(ValueError, match=">= 0"):
        independent_baseline(pd.DataFrame({"x": np.arange(3.0)}), rows=-1, seed=0)
