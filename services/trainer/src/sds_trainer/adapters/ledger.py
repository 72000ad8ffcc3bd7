"""The privacy-budget ledger: atomic reservations against each dataset's total ε.

A reservation is ONE conditional UPDATE (``... WHERE spent + reserved + asked <= total``), so two
concurrent trainings can never both pass the check and overspend, on PostgreSQL (row lock) and on
SQLite (the write lock taken by ``BEGIN IMMEDIATE``) alike. Each reservation is also a row keyed
by generator id, which makes reserve / settle idempotent when a job is retried or an event is
redelivered.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update

from sds_common.db import UnitOfWork
from sds_trainer.adapters.orm import datasets, reservations


@dataclass(frozen=True)
class Reservation:
    """A dataset's budget set aside for one training."""

    generator_id: str
    dataset_id: str
    epsilon: float
    delta: float
    status: str
    epsilon_spent: float | None = None


class BudgetExhaustedError(Exception):
    """The dataset has not enough ε left."""


async def remaining(uow: UnitOfWork, dataset_id: str) -> float:
    """ε not yet spent or reserved on a dataset."""
    row = (
        await uow.session.execute(
            select(
                datasets.c.epsilon_total, datasets.c.epsilon_spent, datasets.c.epsilon_reserved
            ).where(datasets.c.id == dataset_id)
        )
    ).one()
    return float(row.epsilon_total - row.epsilon_spent - row.epsilon_reserved)


async def get(uow: UnitOfWork, generator_id: str) -> Reservation | None:
    """The reservation of a training, if any."""
    row = (
        await uow.session.execute(
            select(reservations).where(reservations.c.generator_id == generator_id)
        )
    ).one_or_none()
    if row is None:
        return None
    return Reservation(
        generator_id=row.generator_id,
        dataset_id=row.dataset_id,
        epsilon=row.epsilon,
        delta=row.delta,
        status=row.status,
        epsilon_spent=row.epsilon_spent,
    )


async def reserve(
    uow: UnitOfWork, *, dataset_id: str, generator_id: str, epsilon: float, delta: float
) -> Reservation:
    """Set ε aside for a training, atomically. Idempotent per generator.

    Raises:
        BudgetExhaustedError: the dataset's remaining ε is smaller than ``epsilon``.
    """
    existing = await get(uow, generator_id)
    if existing is not None:
        return existing
    result = await uow.session.execute(
        update(datasets)
        .where(
            datasets.c.id == dataset_id,
            datasets.c.epsilon_spent + datasets.c.epsilon_reserved + epsilon
            <= datasets.c.epsilon_total + 1e-12,
        )
        .values(epsilon_reserved=datasets.c.epsilon_reserved + epsilon)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        left = await remaining(uow, dataset_id)
        raise BudgetExhaustedError(
            f"the dataset's privacy budget has ε = {max(left, 0.0):.4g} left, less than the "
            f"ε = {epsilon:g} this training asks for"
        )
    await uow.session.execute(
        reservations.insert().values(
            generator_id=generator_id,
            dataset_id=dataset_id,
            epsilon=epsilon,
            delta=delta,
            status="reserved",
        )
    )
    return Reservation(generator_id, dataset_id, epsilon, delta, "reserved")


async def settle(
    uow: UnitOfWork, *, generator_id: str, epsilon_spent: float, delta_spent: float
) -> float:
    """Charge what the accountant reports and return the unspent rest to the dataset.

    ``epsilon_spent`` may be 0 (a training that never touched data) and is never more than the
    reservation (training stops at its target; a larger value is a bug and is refused).

    Returns:
        The ε released back to the dataset (0 if already settled).
    """
    reservation = await get(uow, generator_id)
    if reservation is None or reservation.status != "reserved":
        return 0.0
    if epsilon_spent > reservation.epsilon * (1 + 1e-6):
        raise ValueError(
            f"training spent ε = {epsilon_spent} but reserved only {reservation.epsilon}: refusing "
            "to record an overspend"
        )
    spent = min(epsilon_spent, reservation.epsilon)
    # The status flip is the guard, not the read above: two concurrent settles (a redelivered
    # event) both see "reserved" under READ COMMITTED, but only one can move the row out of it.
    # The loser waits on the row lock, re-checks the WHERE, updates nothing and charges nothing.
    claimed = await uow.session.execute(
        update(reservations)
        .where(reservations.c.generator_id == generator_id, reservations.c.status == "reserved")
        .values(status="spent" if spent > 0 else "released", epsilon_spent=spent)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return 0.0
    await uow.session.execute(
        update(datasets)
        .where(datasets.c.id == reservation.dataset_id)
        .values(
            epsilon_reserved=datasets.c.epsilon_reserved - reservation.epsilon,
            epsilon_spent=datasets.c.epsilon_spent + spent,
            delta_spent=datasets.c.delta_spent + (delta_spent if spent > 0 else 0.0),
        )
    )
    return reservation.epsilon - spent
