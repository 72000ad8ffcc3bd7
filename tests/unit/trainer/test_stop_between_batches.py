"""Finding 17 of issue 16: a stop request is honoured between batches, not between epochs.

On a 270,000-row table one epoch took about a minute, and so did a cancel or a shutdown. The
training loop now polls ``should_stop`` before every step; the accountant has recorded exactly
the steps taken, which is what a cancelled run is charged, and the last checkpoint (from which
a handed-back run resumes) is left as it was, so a resumed run neither repeats a step on the
books nor loses one. aim and mst likewise poll between the passes over the data of a round.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from dp_accounting import dp_event, rdp

from sds_trainer.domain.synthesizers import (
    ColumnSpec,
    EpochReport,
    FitReport,
    PrivacyBudget,
    TrainingCancelled,
)
from sds_trainer.domain.synthesizers.dp_ctgan import DPCTGANSynthesizer
from sds_trainer.domain.synthesizers.marginal import AIMSynthesizer, MSTSynthesizer
from tests.unit.trainer.conftest import TINY_PARAMS

STEPS_PER_EPOCH = 200 // 40


class StopAfter:
    """``should_stop`` that answers True once it has been asked ``calls`` times."""

    def __init__(self, calls: int) -> None:
        self.calls = calls
        self.asked = 0

    def __call__(self) -> bool:
        self.asked += 1
        return self.asked > self.calls


def _fit(
    table: pd.DataFrame, specs: list[ColumnSpec], budget: PrivacyBudget, **kwargs: Any
) -> tuple[DPCTGANSynthesizer, FitReport]:
    model = DPCTGANSynthesizer()
    report = model.fit(table, columns=specs, privacy=budget, params=TINY_PARAMS, **kwargs)
    return model, report


def _google_epsilon(report: FitReport, *, steps: int, delta: float) -> float:
    """ε of the preprocessing release plus ``steps`` DP-SGD steps (dp-accounting's RDP)."""
    assert report.preprocessing_noise_multiplier is not None
    assert report.noise_multiplier is not None
    accountant = rdp.RdpAccountant()
    accountant.compose(dp_event.GaussianDpEvent(report.preprocessing_noise_multiplier))
    if steps:
        step = dp_event.PoissonSampledDpEvent(
            report.sample_rate, dp_event.GaussianDpEvent(report.noise_multiplier)
        )
        accountant.compose(step, steps)
    return float(accountant.get_epsilon(delta - report.threshold_delta))


def test_a_stop_is_seen_before_the_next_step_and_charges_the_steps_taken(
    table: pd.DataFrame, specs: list[ColumnSpec], budget: PrivacyBudget
) -> None:
    _, full = _fit(table, specs, budget)
    stop = StopAfter(3)  # three steps into the first epoch
    with pytest.raises(TrainingCancelled) as cancelled:
        _fit(table, specs, budget, should_stop=stop)
    assert stop.asked == 4, "should_stop must be asked before every step"
    assert cancelled.value.epoch == 0  # no epoch completed
    spent = cancelled.value.epsilon_spent
    assert spent == pytest.approx(_google_epsilon(full, steps=3, delta=budget.delta), rel=0.05)
    one_epoch = _google_epsilon(full, steps=STEPS_PER_EPOCH, delta=budget.delta)
    preprocessing_only = _google_epsilon(full, steps=0, delta=budget.delta)
    assert preprocessing_only < spent < one_epoch


def test_a_run_stopped_mid_epoch_resumes_from_its_checkpoint_as_if_never_stopped(
    table: pd.DataFrame, specs: list[ColumnSpec], budget: PrivacyBudget
) -> None:
    saved: dict[int, bytes] = {}
    full_model, full = _fit(table, specs, budget, checkpoint=saved.__setitem__)
    # Resumed after epoch 1, then stopped two steps into epoch 2 (as at a shutdown).
    written: dict[int, bytes] = {}
    with pytest.raises(TrainingCancelled) as cancelled:
        _fit(
            table,
            specs,
            budget,
            resume_from=saved[1],
            checkpoint=written.__setitem__,
            should_stop=StopAfter(2),
        )
    assert cancelled.value.epoch == 1
    assert written == {}, "a stop mid-epoch must not write a checkpoint of a half epoch"
    # Resumed again from the same checkpoint, it ends exactly where the uninterrupted run did:
    # the interrupted epoch's steps are neither lost nor counted twice.
    resumed_model, resumed = _fit(table, specs, budget, resume_from=saved[1])
    assert resumed.steps == full.steps
    assert resumed.epsilon == pytest.approx(full.epsilon, rel=1e-9)
    pd.testing.assert_frame_equal(full_model.sample(50, seed=2), resumed_model.sample(50, seed=2))


MARGINAL = {
    "aim": (AIMSynthesizer, {"final_iters": 100, "round_iters": 20}),
    "mst": (MSTSynthesizer, {"final_iters": 100}),
}


@pytest.mark.parametrize("method", sorted(MARGINAL))
def test_a_marginal_round_stops_between_two_data_passes(
    method: str, table: pd.DataFrame, specs: list[ColumnSpec], budget: PrivacyBudget
) -> None:
    """aim and mst poll between the passes over the data inside a round, not only after it."""
    cls, params = MARGINAL[method]
    rounds: list[EpochReport] = []
    cls().fit(table, columns=specs, privacy=budget, params=params, progress=rounds.append)
    seen: list[EpochReport] = []
    with pytest.raises(TrainingCancelled) as cancelled:
        cls().fit(
            table,
            columns=specs,
            privacy=budget,
            params=params,
            progress=seen.append,
            should_stop=StopAfter(2),
        )
    assert seen == [], "the stop waited for the end of a round"
    assert cancelled.value.epoch == 0
    # What the ledger holds when it stopped: every release made so far, no more.
    assert 0 < cancelled.value.epsilon_spent < rounds[0].epsilon_spent_so_far
