"""The training job's side of the budget ledger: reserve before, charge after, free the rest.

Each function runs inside the caller's unit of work, so the ledger rows and the events that
announce them (PrivacyBudgetReserved, PrivacyBudgetSpent, PrivacyBudgetReleased) commit together.
"""

from __future__ import annotations

from typing import Any

from sds_common.db import UnitOfWork
from sds_common.events import (
    PrivacyBudgetReleased,
    PrivacyBudgetReserved,
    PrivacyBudgetSpent,
    TrainingRequested,
)
from sds_common.jobs import JobFailedError
from sds_common.methods import METHODS
from sds_common.privacy import default_delta
from sds_common.privacy.explain import mechanism_of
from sds_trainer.adapters import ledger
from sds_trainer.domain.synthesizers import FitReport, PrivacyBudget, Synthesizer


async def reserve(
    uow: UnitOfWork,
    request: TrainingRequested,
    cls: type[Synthesizer],
    dataset: Any,
) -> PrivacyBudget | None:
    """Check the request against the policy and reserve its (ε, δ) (PrivacyBudgetReserved).

    A retried job finds its reservation and reuses it; a non-DP method gets None.

    The request passed ``sds_common.methods.training_problems`` (the policy included) before;
    what is left to check is the budget, atomically.

    Raises:
        JobFailedError: a DP method without privacy settings, or a budget that cannot cover it.
    """
    if not cls.differentially_private:
        return None
    if request.privacy is None:
        raise JobFailedError(
            "privacy_required",
            f"method {request.method!r} needs privacy settings (ε, optionally δ)",
        )
    existing = await ledger.get(uow, str(request.generator_id))
    if existing is None:
        delta = request.privacy.delta
        try:
            existing = await ledger.reserve(
                uow,
                dataset_id=str(request.dataset_id),
                generator_id=str(request.generator_id),
                epsilon=request.privacy.epsilon,
                delta=default_delta(dataset.train_rows) if delta is None else delta,
            )
        except ledger.BudgetExhaustedError as exc:
            raise JobFailedError("budget_exhausted", str(exc)) from exc
        await uow.emit(
            PrivacyBudgetReserved(
                dataset_id=request.dataset_id,
                generator_id=request.generator_id,
                ledger=(await ledger.of_dataset(uow, str(request.dataset_id))).name,
                epsilon=existing.epsilon,
                delta=existing.delta,
                remaining_epsilon=await ledger.remaining(uow, str(request.dataset_id)),
            )
        )
    return PrivacyBudget(
        epsilon=existing.epsilon,
        delta=existing.delta,
        accountant=request.privacy.accountant,
        max_grad_norm=request.privacy.max_grad_norm or 1.0,
        preprocessing_epsilon_share=request.privacy.preprocessing_epsilon_share,
    )


async def announce_spend(
    uow: UnitOfWork, request: TrainingRequested, *, report: FitReport, released: float
) -> None:
    """Announce a settled training: what it spent (PrivacyBudgetSpent) and what it freed."""
    remaining = await ledger.remaining(uow, str(request.dataset_id))
    charged = await ledger.of_dataset(uow, str(request.dataset_id))
    await uow.emit(
        PrivacyBudgetSpent(
            dataset_id=request.dataset_id,
            generator_id=request.generator_id,
            ledger=charged.name,
            epsilon=report.epsilon or 0.0,
            delta=report.delta or 0.0,
            preprocessing_epsilon=report.preprocessing_epsilon,
            accountant=report.accountant,
            noise_multiplier=report.noise_multiplier,
            sample_rate=report.sample_rate,
            steps=report.steps,
            remaining_epsilon=remaining,
            mechanism=mechanism_of(
                noise_multiplier=report.noise_multiplier,
                steps=report.steps,
                preprocessing_epsilon=report.preprocessing_epsilon,
            ),
            training_epsilon=report.training_epsilon,
            max_grad_norm=report.max_grad_norm,
            epochs=report.epochs,
            batch_size=report.batch_size or None,
        )
    )
    await _announce_release(
        uow,
        request,
        epsilon=released,
        delta=0.0,
        reason="training finished below its reservation",
        remaining=remaining,
        ledger_name=charged.name,
    )


async def charge_partial(
    uow: UnitOfWork, request: TrainingRequested, *, spent: float, reason: str
) -> float:
    """Charge the ε of completed epochs (their outputs may have left); free the rest."""
    generator_id = str(request.generator_id)
    reservation = await ledger.get(uow, generator_id)
    if reservation is None or reservation.status != "reserved":
        return 0.0
    released = await ledger.settle(
        uow, generator_id=generator_id, epsilon_spent=spent, delta_spent=reservation.delta
    )
    remaining = await ledger.remaining(uow, str(request.dataset_id))
    charged = await ledger.of_dataset(uow, str(request.dataset_id))
    if spent > 0:
        await uow.emit(
            PrivacyBudgetSpent(
                dataset_id=request.dataset_id,
                generator_id=request.generator_id,
                ledger=charged.name,
                epsilon=spent,
                delta=reservation.delta,
                preprocessing_epsilon=0.0,
                accountant=accountant_name(request),
                remaining_epsilon=remaining,
            )
        )
    await _announce_release(
        uow,
        request,
        epsilon=released,
        delta=0.0 if spent > 0 else reservation.delta,
        reason=reason,
        remaining=remaining,
        ledger_name=charged.name,
    )
    return released


async def _announce_release(
    uow: UnitOfWork,
    request: TrainingRequested,
    *,
    epsilon: float,
    delta: float,
    reason: str,
    remaining: float,
    ledger_name: str,
) -> None:
    """PrivacyBudgetReleased for what a settled reservation freed (nothing when it freed none)."""
    if epsilon > 0:
        await uow.emit(
            PrivacyBudgetReleased(
                dataset_id=request.dataset_id,
                generator_id=request.generator_id,
                ledger=ledger_name,
                epsilon=epsilon,
                delta=delta,
                reason=reason,
                remaining_epsilon=remaining,
            )
        )


def accountant_name(request: TrainingRequested) -> str:
    """The accountant a method's charges are in (zCDP for aim/mst, the request's otherwise)."""
    method = METHODS.get(request.method)
    if method is not None and method.accountant is not None:
        return method.accountant
    return request.privacy.accountant if request.privacy else "rdp"
