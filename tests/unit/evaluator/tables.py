"""Small synthetic populations with known structure, for evaluator tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sds_evaluator.domain import ColumnInfo

COLUMNS = [
    ColumnInfo(name="row_id", kind="identifier"),
    ColumnInfo(name="age", kind="numeric"),
    ColumnInfo(name="hours", kind="numeric"),
    ColumnInfo(name="city", kind="categorical"),
    ColumnInfo(name="member", kind="boolean"),
    ColumnInfo(name="joined", kind="datetime"),
    ColumnInfo(name="label", kind="categorical"),
]


def population(n: int, seed: int, *, missing: bool = False) -> pd.DataFrame:
    """Rows where hours follows age, city follows age, and label follows all three."""
    rng = np.random.default_rng(seed)
    age = rng.normal(40, 12, n).round()
    hours = (20 + 0.5 * age + rng.normal(0, 5, n)).round(1)
    city = np.where(age + rng.normal(0, 8, n) > 40, "north", rng.choice(["south", "east"], n))
    member = rng.random(n) < 0.3
    joined = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 3000, n), unit="D")
    logit = 0.08 * (age - 40) + 0.1 * (hours - 40) + np.where(city == "north", 1.0, -0.5)
    label = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    frame = pd.DataFrame(
        {
            "row_id": np.arange(n) + seed * 1_000_000,
            "age": age,
            "hours": hours,
            "city": city,
            "member": member,
            "joined": joined,
            "label": label,
        }
    )
    if missing:
        for col in ("age", "city", "joined"):
            frame.loc[rng.random(n) < 0.1, col] = None
    return frame


def noise_table(n: int, seed: int) -> pd.DataFrame:
    """Rows of the same schema with values that ignore the real data entirely."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "row_id": np.arange(n),
            "age": rng.uniform(-500, 500, n),
            "hours": rng.uniform(1000, 2000, n),
            "city": rng.choice(["x", "y", "z", "w"], n),
            "member": rng.random(n) < 0.9,
            "joined": pd.Timestamp("1990-01-01")
            + pd.to_timedelta(rng.integers(0, 100, n), unit="D"),
            "label": rng.choice(["yes", "no"], n),
        }
    )
