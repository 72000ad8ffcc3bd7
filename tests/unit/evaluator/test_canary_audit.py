"""Canary audit: planted records leak from a non-DP generator and stay hidden under DP at ε = 1.

Fifty canaries are planted in a small training table and fifty more, made the same way, are kept
out. Each canary holds a value no other record has (a code outside the population's six, like a
one-off diagnosis code); its other columns follow the population. Two real synthesizers of the
product train on the same table, seeded:

* ``ctgan`` (the non-DP peer) learns its category vocabulary from the raw data, so it publishes
  the planted codes, and the synthetic rows that carry one come closer to that planted canary
  than anything comes to a held-out canary;
* ``dp-ctgan`` at ε = 1 releases categories through the stability histogram and trains with
  DP-SGD, so planted and held-out canaries look alike.

The evaluator's canary exposure (planted vs held-out distance to the closest synthetic row) and
its membership-inference attack (training rows vs holdout rows) then have to show exactly that.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from sds_evaluator.domain import ColumnInfo, EvaluationConfig
from sds_evaluator.domain.canaries import CanaryExposure, canary_exposure
from sds_evaluator.domain.models import PrivacyRiskSection
from sds_evaluator.domain.privacy_risk import privacy_risk_section
from sds_trainer.domain.synthesizers import ColumnSpec, PrivacyBudget, Synthesizer
from sds_trainer.domain.synthesizers.ctgan_peer import CTGANPeerSynthesizer
from sds_trainer.domain.synthesizers.dp_ctgan import DPCTGANSynthesizer
from tests.support.threads import single_threaded

SEED = 0
POPULATION = 250  # population rows in the training table (and in the holdout)
CANARIES = 50  # planted canaries, and as many held out: max detectable ε ≈ 1.8
SYNTHETIC = 5000
EPSILON, DELTA = 1.0, 1e-5
CODES = tuple("ABCDEF")
COLUMNS = [
    ColumnInfo(name="age", kind="numeric"),
    ColumnInfo(name="income", kind="numeric"),
    ColumnInfo(name="city", kind="categorical"),
    ColumnInfo(name="code", kind="categorical"),
]
SPECS = [ColumnSpec(c.name, c.kind) for c in COLUMNS]
# Every canary code gets its own one-hot slot in the privacy-risk section too.
CONFIG = EvaluationConfig(max_onehot_categories=4 * CANARIES)
CTGAN_PARAMS = {
    "epochs": 10,
    "batch_size": 100,
    "embedding_dim": 32,
    "generator_dim": (64, 64),
    "discriminator_dim": (64, 64),
}
DP_PARAMS = {
    "epochs": 5,
    "batch_size": 50,
    "embedding_dim": 16,
    "generator_dims": (32,),
    "discriminator_dims": (32,),
    "device": "cpu",
}


def _people(rng: np.random.Generator, n: int, codes: list[str]) -> pd.DataFrame:
    age = rng.normal(40, 10, n).round()
    return pd.DataFrame(
        {
            "age": age,
            "income": (1000 * age + rng.normal(0, 5000, n)).round(),
            "city": rng.choice(["north", "south", "east", "west"], n),
            "code": codes,
        }
    )


@dataclass(frozen=True)
class Tables:
    train: pd.DataFrame  # population + planted canaries, shuffled
    holdout: pd.DataFrame  # other population rows + held-out canaries
    planted: pd.DataFrame
    held_out: pd.DataFrame


def make_tables(seed: int) -> Tables:
    """The population, the two canary groups, and the training and holdout tables."""
    rng = np.random.default_rng(seed)
    train_pop = _people(rng, POPULATION, list(rng.choice(CODES, POPULATION)))
    holdout_pop = _people(rng, POPULATION, list(rng.choice(CODES, POPULATION)))
    planted = _people(rng, CANARIES, [f"P{seed}-{i:03d}" for i in range(CANARIES)])
    held_out = _people(rng, CANARIES, [f"H{seed}-{i:03d}" for i in range(CANARIES)])
    train = pd.concat([train_pop, planted], ignore_index=True)
    train = train.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    holdout = pd.concat([holdout_pop, held_out], ignore_index=True)
    return Tables(train=train, holdout=holdout, planted=planted, held_out=held_out)


@dataclass(frozen=True)
class Audit:
    synthetic: pd.DataFrame
    canaries: CanaryExposure
    membership: PrivacyRiskSection


def run_audit(model: Synthesizer, tables: Tables, *, private: bool, seed: int) -> Audit:
    """Train ``model`` on the table, sample, and run both attacks on its synthetic rows."""
    with single_threaded():
        return _run_audit(model, tables, private=private, seed=seed)


def _run_audit(model: Synthesizer, tables: Tables, *, private: bool, seed: int) -> Audit:
    with warnings.catch_warnings():
        # The ctgan package warns about its own deprecated `cuda` argument.
        warnings.filterwarnings("ignore", category=FutureWarning)
        model.fit(
            tables.train,
            columns=SPECS,
            privacy=PrivacyBudget(epsilon=EPSILON, delta=DELTA) if private else None,
            params=DP_PARAMS if private else CTGAN_PARAMS,
            seed=seed,
        )
    synthetic = model.sample(SYNTHETIC, seed=seed)
    delta = DELTA if private else 0.0
    exposure = canary_exposure(
        planted=tables.planted,
        held_out=tables.held_out,
        synthetic=synthetic,
        real_train=tables.train,
        columns=COLUMNS,
        delta=delta,
        config=CONFIG,
        seed=seed,
    )
    membership = privacy_risk_section(
        real_train=tables.train,
        real_holdout=tables.holdout,
        synthetic=synthetic,
        columns=COLUMNS,
        target=None,
        delta=delta,
        config=CONFIG,
        seed=seed,
    )
    return Audit(synthetic=synthetic, canaries=exposure, membership=membership)


@pytest.fixture(scope="module")
def tables() -> Tables:
    return make_tables(SEED)


@pytest.fixture(scope="module")
def non_dp(tables: Tables) -> Audit:
    return run_audit(CTGANPeerSynthesizer(), tables, private=False, seed=SEED)


@pytest.fixture(scope="module")
def dp(tables: Tables) -> Audit:
    return run_audit(DPCTGANSynthesizer(), tables, private=True, seed=SEED)


def _planted_codes(audit: Audit, tables: Tables) -> int:
    return int(audit.synthetic["code"].isin(set(tables.planted["code"])).sum())


def check_non_dp_exposes_canaries(audit: Audit, tables: Tables) -> None:
    """The non-DP generator's planted canaries are measurably exposed."""
    exposure = audit.canaries
    # It publishes values only the planted canaries hold...
    assert _planted_codes(audit, tables) > 0
    assert not audit.synthetic["code"].isin(set(tables.held_out["code"])).any()
    # ...and so sits closer to planted canaries than to held-out ones.
    assert exposure.auc > 0.75, exposure
    assert exposure.p_value < 1e-4, exposure
    assert exposure.median_distance_planted < 0.8 * exposure.median_distance_held_out, exposure
    # The audit proves more privacy loss than ε = 1 allows: this model is not 1-DP.
    assert exposure.epsilon.lower_bound > EPSILON, exposure.epsilon


def check_dp_hides_canaries(audit: Audit, tables: Tables) -> None:
    """The DP generator's canaries look like held-out ones, within its guarantee."""
    exposure = audit.canaries
    assert _planted_codes(audit, tables) == 0
    assert exposure.epsilon.max_detectable > EPSILON  # the audit could have refuted ε = 1
    assert exposure.epsilon.lower_bound <= EPSILON, exposure.epsilon
    # Indistinguishable from the baseline: no significant exposure at the 1 % level, and the
    # AUC stays below what even an exactly 1-DP release could reach, e/(1 + e) ≈ 0.73.
    assert exposure.p_value > 0.01, exposure
    assert exposure.auc < np.e / (1 + np.e), exposure
    mia = audit.membership.membership_inference
    assert mia is not None
    assert mia.epsilon_lower_bound <= EPSILON, mia


def test_non_dp_ctgan_leaks_planted_canaries(non_dp: Audit, tables: Tables) -> None:
    check_non_dp_exposes_canaries(non_dp, tables)


def test_dp_ctgan_at_epsilon_one_stays_within_its_bound(dp: Audit, tables: Tables) -> None:
    check_dp_hides_canaries(dp, tables)


def test_membership_attack_ranks_the_two_models(non_dp: Audit, dp: Audit) -> None:
    leaky, private = non_dp.membership.membership_inference, dp.membership.membership_inference
    assert leaky is not None
    assert private is not None
    # Training rows include the planted canaries, the holdout the held-out ones: the attack on
    # whole tables sees the non-DP model's leak too, and never more evidence for the DP model.
    assert leaky.attack_auc > private.attack_auc
    assert leaky.epsilon_lower_bound >= private.epsilon_lower_bound
    assert private.rows_per_side == leaky.rows_per_side == (POPULATION + CANARIES) // 2
