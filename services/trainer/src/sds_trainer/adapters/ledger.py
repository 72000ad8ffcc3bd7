"""The privacy-budget ledgers: atomic reservations against each data source's total ε.

A dataset charges the ledger of its data source (``sds_common.privacy.ledger``): uploads of the
same bytes, or that their owner labelled as one population, share one ledger within a project.

A reservation is ONE conditional UPDATE on the ledger's row (``... WHERE spent + reserved +
asked <= total``), so two concurrent trainings, on one dataset or on two that share the ledger,
can never both pass the check and overspend, on PostgreSQL (row lock) and on SQLite (the write
lock taken by ``BEGIN IMMEDIATE``) alike. Each reservation is also a row keyed by generator id,
which makes reserve / settle idempotent when a job is retried or an event is redelivered.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from sds_common.db import UnitOfWork
from sds_common.privacy import ledger_name
from sds_trainer.adapters.orm import datasets, ledger_files, ledgers, reservations

#: Namespace of ledger ids: a ledger's id is a function of its project and name.
_NAMESPACE = uuid.UUID("5d3f1c2a-8b7e-4f60-9a1d-2c4e6b8a0f13")


@dataclass(frozen=True)
class Ledger:
    """A budget ledger: its id and its name (``source:…``, ``sha256:…`` or ``dataset:…``)."""

    id: str
    name: str


@dataclass(frozen=True)
class Reservation:
    """A ledger's budget set aside for one training."""

    generator_id: str
    dataset_id: str
    ledger_id: str
    epsilon: float
    delta: float
    status: str
    epsilon_spent: float | None = None


class BudgetExhaustedError(Exception):
    """The ledger has not enough ε left."""


def ledger_id(project_id: str | None, name: str) -> str:
    """The id of ledger ``name`` in ``project_id``.

    A dataset's own ledger (``dataset:<id>``, from before ledgers were shared) has the dataset's
    id, as the migration that created the ledgers gave it; any other is derived from the project
    and the name, so every upload of one source finds the same row.
    """
    kind, _, key = name.partition(":")
    if kind == "dataset":
        return key
    return str(uuid.uuid5(_NAMESPACE, f"{project_id or ''}\n{name}"))


async def open_for_upload(
    uow: UnitOfWork,
    *,
    project_id: str | None,
    dataset_id: str,
    source: str | None,
    sha256: str | None,
    epsilon_total: float,
) -> Ledger:
    """The ledger a profiled upload charges, created with ``epsilon_total`` if it is new.

    The ledger of its ``source`` label, else of its bytes (``sds_common.privacy.ledger_name``);
    but bytes that an earlier upload of the project brought keep that upload's ledger, whatever
    source this one names: relabelling a file must not open a fresh budget. The first upload of
    a file binds it (an insert that a concurrent twin's insert waits on, then skips).
    """
    name = ledger_name(source=source, sha256=sha256, dataset_id=dataset_id)
    if sha256 is None:
        return await _open(uow, project_id=project_id, name=name, epsilon_total=epsilon_total)
    file_id = ledger_id(project_id, f"sha256:{sha256}")
    await uow.session.execute(
        _insert(uow)(ledger_files)
        .values(id=file_id, ledger_id=ledger_id(project_id, name))
        .on_conflict_do_nothing(index_elements=["id"])
    )
    bound = (
        await uow.session.execute(
            select(ledger_files.c.ledger_id).where(ledger_files.c.id == file_id)
        )
    ).scalar_one()
    if bound == ledger_id(project_id, name):
        return await _open(uow, project_id=project_id, name=name, epsilon_total=epsilon_total)
    earlier = (
        await uow.session.execute(select(ledgers.c.ledger).where(ledgers.c.id == bound))
    ).scalar_one()
    return Ledger(id=bound, name=earlier)


def _insert(uow: UnitOfWork) -> Any:
    dialect = uow.session.get_bind().dialect.name
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


async def _open(
    uow: UnitOfWork, *, project_id: str | None, name: str, epsilon_total: float
) -> Ledger:
    """The ledger ``name`` of a project, created with ``epsilon_total`` if it is new.

    Concurrent first uploads of one source both insert; the second insert does nothing.
    """
    ledger = Ledger(id=ledger_id(project_id, name), name=name)
    await uow.session.execute(
        _insert(uow)(ledgers)
        .values(
            id=ledger.id,
            project_id=project_id,
            ledger=name,
            epsilon_total=epsilon_total,
            delta_total=1.0,
            epsilon_reserved=0.0,
            epsilon_spent=0.0,
            delta_spent=0.0,
        )
        .on_conflict_do_nothing(index_elements=["id"])
    )
    return ledger


async def of_dataset(uow: UnitOfWork, dataset_id: str) -> Ledger:
    """The ledger a dataset charges."""
    row = (
        await uow.session.execute(
            select(ledgers.c.id, ledgers.c.ledger)
            .select_from(datasets.join(ledgers, ledgers.c.id == datasets.c.ledger_id))
            .where(datasets.c.id == dataset_id)
        )
    ).one()
    return Ledger(id=row.id, name=row.ledger)


async def remaining(uow: UnitOfWork, dataset_id: str) -> float:
    """ε not yet spent or reserved on the ledger a dataset charges."""
    row = (
        await uow.session.execute(
            select(ledgers.c.epsilon_total, ledgers.c.epsilon_spent, ledgers.c.epsilon_reserved)
            .select_from(datasets.join(ledgers, ledgers.c.id == datasets.c.ledger_id))
            .where(datasets.c.id == dataset_id)
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
        ledger_id=row.ledger_id,
        epsilon=row.epsilon,
        delta=row.delta,
        status=row.status,
        epsilon_spent=row.epsilon_spent,
    )


async def reserve(
    uow: UnitOfWork, *, dataset_id: str, generator_id: str, epsilon: float, delta: float
) -> Reservation:
    """Set ε aside on the dataset's ledger for a training, atomically. Idempotent per generator.

    Raises:
        BudgetExhaustedError: the ledger's remaining ε is smaller than ``epsilon``.
    """
    existing = await get(uow, generator_id)
    if existing is not None:
        return existing
    ledger = await of_dataset(uow, dataset_id)
    result = await uow.session.execute(
        update(ledgers)
        .where(
            ledgers.c.id == ledger.id,
            ledgers.c.epsilon_spent + ledgers.c.epsilon_reserved + epsilon
            <= ledgers.c.epsilon_total + 1e-12,
        )
        .values(epsilon_reserved=ledgers.c.epsilon_reserved + epsilon)
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
            ledger_id=ledger.id,
            epsilon=epsilon,
            delta=delta,
            status="reserved",
        )
    )
    return Reservation(generator_id, dataset_id, ledger.id, epsilon, delta, "reserved")


async def settle(
    uow: UnitOfWork, *, generator_id: str, epsilon_spent: float, delta_spent: float
) -> float:
    """Charge what the accountant reports and return the unspent rest to the ledger.

    ``epsilon_spent`` may be 0 (a training that never touched data) and is never more than the
    reservation (training stops at its target; a larger value is a bug and is refused).

    Returns:
        The ε released back to the ledger (0 if already settled).
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
        update(ledgers)
        .where(ledgers.c.id == reservation.ledger_id)
        .values(
            epsilon_reserved=ledgers.c.epsilon_reserved - reservation.epsilon,
            epsilon_spent=ledgers.c.epsilon_spent + spent,
            delta_spent=ledgers.c.delta_spent + (delta_spent if spent > 0 else 0.0),
        )
    )
    return reservation.epsilon - spent
