"""Tiny tables and settings that keep synthesizer tests to a few seconds each."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sds_trainer.domain.synthesizers import ColumnSpec, PrivacyBudget

TINY_PARAMS = {
    "epochs": 2,
    "batch_size": 40,
    "embedding_dim": 16,
    "generator_dims": (32,),
    "discriminator_dims": (32,),
    "checkpoint_every": 1,
    "device": "cpu",
}


def make_table() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 200
    colour = rng.choice(["red", "green", "blue"], size=n, p=[0.5, 0.3, 0.2]).astype(object)
    colour[0] = "one-of-a-kind"  # held by a single row: must never be released under DP
    colour[1:20] = None
    income = rng.gamma(2.0, 1000.0, size=n)
    income[5:15] = np.nan
    return pd.DataFrame(
        {
            "id": np.arange(n),
            "age": rng.integers(18, 90, size=n),
            "income": income,
            "colour": colour,
            "member": rng.random(n) < 0.3,
        }
    )


def make_specs() -> list[ColumnSpec]:
    return [
        ColumnSpec("id", "identifier"),
        ColumnSpec("age", "numeric", integer=True),
        ColumnSpec("income", "numeric"),
        ColumnSpec("colour", "categorical"),
        ColumnSpec("member", "boolean"),
    ]


def make_budget() -> PrivacyBudget:
    return PrivacyBudget(epsilon=1.0, delta=1e-5)


@pytest.fixture
def table() -> pd.DataFrame:
    return make_table()


@pytest.fixture
def specs() -> list[ColumnSpec]:
    return make_specs()


@pytest.fixture
def budget() -> PrivacyBudget:
    return make_budget()
