"""Lists and lookups behind the GET routes (read models only, scoped to the caller)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from sds_common.auth import Identity
from sds_common.methods import DatasetSchema, training_problems
from sds_common.privacy import PolicyLimits, default_delta, ledger_meaning, ledger_name
from sds_gateway.adapters.orm import (
    datasets,
    evaluations,
    generators,
    jobs,
    privacy_ledger,
    project_members,
    projects,
)
from sds_gateway.adapters.records import member_role, utc
from sds_gateway.domain.access import Need, authorise, capped_role, scope_of
from sds_gateway.domain.errors import NotFound
from sds_gateway.domain.status import DatasetStatus
from sds_gateway.schemas.common import Job, Page
from sds_gateway.schemas.datasets import BudgetTotals, Dataset, LedgerEntry, PrivacyBudget
from sds_gateway.schemas.pipeline import Evaluation, Generator
from sds_gateway.schemas.privacy import PrivacyValidate, PrivacyVerdict
from sds_gateway.schemas.projects import Project
from sds_gateway.views import (
    dataset_view,
    evaluation_view,
    generator_view,
    job_view,
    load_visible,
    page_of,
    project_view,
    visible_select,
)


async def list_projects(
    session: AsyncSession, user: Identity, *, limit: int, cursor: str | None
) -> Page[Project]:
    """The live projects the user is a member of (an API key: its own project)."""
    query = (
        select(projects, project_members.c.role)
        .join(
            project_members,
            and_(
                project_members.c.project_id == projects.c.id,
                project_members.c.user_id == user.user_id,
            ),
        )
        .where(projects.c.deleted_at.is_(None))
    )
    scope = scope_of(user)
    if scope is not None:
        query = query.where(projects.c.id == scope.project_id)
    rows, next_cursor = await page_of(session, query, projects, limit=limit, cursor=cursor)
    # Within a key's project the capped role is never None (the query kept only that project).
    items = [
        project_view(row, capped_role(row["role"], project_id=row["id"], scope=scope) or "viewer")
        for row in rows
    ]
    return Page(items=items, next_cursor=next_cursor)


async def get_project(session: AsyncSession, user: Identity, *, project_id: str) -> Project:
    """One project the user is a member of."""
    role = authorise(
        await member_role(session, project_id=project_id, user_id=user.user_id),
        Need.READ,
        what="project",
    )
    row = (await session.execute(select(projects).where(projects.c.id == project_id))).one()
    return project_view(row._mapping, role)


async def list_datasets(
    session: AsyncSession,
    user: Identity,
    *,
    project_id: str | None,
    status: str | None,
    limit: int,
    cursor: str | None,
) -> Page[Dataset]:
    """Datasets visible to the user, optionally of one project and in one status."""
    query = visible_select(datasets, user)
    if project_id is not None:
        query = query.where(datasets.c.project_id == project_id)
    if status is not None:
        query = query.where(datasets.c.status == status)
    else:
        query = query.where(datasets.c.status != "deleted")
    rows, next_cursor = await page_of(session, query, datasets, limit=limit, cursor=cursor)
    return Page(items=[dataset_view(row) for row in rows], next_cursor=next_cursor)


async def list_generators(
    session: AsyncSession,
    user: Identity,
    *,
    project_id: str | None,
    dataset_id: str | None,
    status: str | None,
    limit: int,
    cursor: str | None,
) -> Page[Generator]:
    """Generators visible to the user, filtered by project, dataset and status."""
    query = visible_select(generators, user)
    if project_id is not None:
        query = query.where(generators.c.project_id == project_id)
    if dataset_id is not None:
        query = query.where(generators.c.dataset_id == dataset_id)
    if status is not None:
        query = query.where(generators.c.status == status)
    rows, next_cursor = await page_of(session, query, generators, limit=limit, cursor=cursor)
    return Page(items=[generator_view(row) for row in rows], next_cursor=next_cursor)


async def list_evaluations(
    session: AsyncSession,
    user: Identity,
    *,
    synthetic_dataset_id: str | None,
    limit: int,
    cursor: str | None,
) -> Page[Evaluation]:
    """Evaluations visible to the user, optionally of one synthetic dataset."""
    query = visible_select(evaluations, user)
    if synthetic_dataset_id is not None:
        query = query.where(evaluations.c.synthetic_dataset_id == synthetic_dataset_id)
    rows, next_cursor = await page_of(session, query, evaluations, limit=limit, cursor=cursor)
    return Page(items=[evaluation_view(row) for row in rows], next_cursor=next_cursor)


async def get_job(session: AsyncSession, user: Identity, *, job_id: str) -> Job:
    """One job of a project the user is a member of."""
    row = (await session.execute(select(jobs).where(jobs.c.id == job_id))).mappings().first()
    if row is None:
        raise NotFound("job not found")
    authorise(
        await member_role(session, project_id=row["project_id"], user_id=user.user_id),
        Need.READ,
        what="job",
    )
    return job_view(row)


async def privacy_budget(
    session: AsyncSession, user: Identity, *, dataset_id: str, budget_epsilon: float
) -> PrivacyBudget:
    """The budget ledger the dataset charges, as the trainer reported it, with totals.

    Uploads of one project share a ledger (the same bytes, or the same source label), so the
    entries include those of every upload that charged it. ``budget_epsilon`` is a ledger's
    total: what remains while the ledger has no entry yet.
    """
    dataset, _ = await load_visible(
        session, datasets, row_id=dataset_id, user=user, need=Need.READ, what="dataset"
    )
    name = await ledger_of(session, dataset)
    rows = (await session.execute(_entries(dataset, name).order_by(privacy_ledger.c.id))).all()
    entries = [
        LedgerEntry(
            entry=row.entry,
            dataset_id=row.dataset_id,
            generator_id=row.generator_id,
            epsilon=row.epsilon,
            delta=row.delta,
            remaining_epsilon=row.remaining_epsilon,
            details=row.details,
            occurred_at=utc(row.occurred_at),
        )
        for row in rows
    ]
    return PrivacyBudget(
        dataset_id=dataset_id,
        ledger=name,
        explanation=ledger_meaning(name, subject="Trainings on this dataset charge"),
        entries=entries,
        totals=_totals(entries, budget_epsilon=budget_epsilon),
    )


async def ledger_of(session: AsyncSession, dataset: Any) -> str:
    """The ledger a dataset charges (``sds_common.privacy.ledger``).

    The trainer's word when its events named one for this dataset; before that, the trainer's
    rule on this read model: the ledger of the first profiled upload of the same bytes in the
    project (its source label, else its bytes), this upload's own when it is the first.
    """
    named = (
        await session.execute(
            select(privacy_ledger.c.ledger)
            .where(
                privacy_ledger.c.dataset_id == dataset["id"],
                privacy_ledger.c.ledger.is_not(None),
            )
            .order_by(privacy_ledger.c.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    if named is not None:
        return str(named)
    first = (
        await session.execute(
            select(datasets.c.id, datasets.c.source)
            .where(
                datasets.c.project_id == dataset["project_id"],
                datasets.c.sha256 == dataset["sha256"],
                datasets.c.n_rows.is_not(None),  # profiled: the trainer has seen it
                datasets.c.id != dataset["id"],
                datasets.c.created_at <= dataset["created_at"],
            )
            .order_by(datasets.c.created_at, datasets.c.id)
            .limit(1)
        )
    ).first()
    source = first.source if first is not None else dataset["source"]
    return ledger_name(source=source, sha256=dataset["sha256"], dataset_id=dataset["id"])


def _entries(dataset: Any, name: str) -> Any:
    """The ledger's entries in the dataset's project (version-1 ones: the dataset's own)."""
    return select(privacy_ledger).where(
        privacy_ledger.c.project_id == dataset["project_id"],
        or_(
            privacy_ledger.c.ledger == name,
            and_(privacy_ledger.c.ledger.is_(None), privacy_ledger.c.dataset_id == dataset["id"]),
        ),
    )


def _totals(entries: list[LedgerEntry], *, budget_epsilon: float) -> BudgetTotals:
    settled = {e.generator_id for e in entries if e.entry in ("spent", "released")}
    reserved: dict[str, float] = {}
    for entry in entries:
        if entry.entry == "reserved" and entry.generator_id not in settled:
            reserved[entry.generator_id] = entry.epsilon
    by_time: list[Any] = sorted(entries, key=lambda e: e.occurred_at)
    return BudgetTotals(
        spent_epsilon=sum(e.epsilon for e in entries if e.entry == "spent"),
        reserved_epsilon=sum(reserved.values()),
        remaining_epsilon=_remaining(by_time, budget_epsilon=budget_epsilon),
    )


def _remaining(by_time: list[LedgerEntry], *, budget_epsilon: float) -> float:
    """What the trainer last reported as left; the whole budget before its first entry."""
    for entry in reversed(by_time):
        if entry.remaining_epsilon is not None:
            return entry.remaining_epsilon
    return budget_epsilon


async def validate_privacy(
    session: AsyncSession,
    user: Identity,
    *,
    request: PrivacyValidate,
    limits: PolicyLimits,
    budget_epsilon: float,
) -> PrivacyVerdict:
    """Check a training's privacy request against the trainer's policy; never reserves budget.

    ``budget_epsilon`` is the dataset's total, used while the ledger has no entry for it yet.
    """
    row, _ = await load_visible(
        session, datasets, row_id=request.dataset_id, user=user, need=Need.READ, what="dataset"
    )
    if row["status"] == DatasetStatus.DELETED:
        raise NotFound("dataset not found")
    left = await remaining_epsilon(session, row, budget_epsilon=budget_epsilon)
    train_rows: int | None = row["train_rows"]
    ready = row["status"] == DatasetStatus.READY and train_rows is not None
    epsilon, delta = request.privacy.epsilon, request.privacy.delta
    # The training check the trainer runs, its privacy part only (no params are asked here).
    refusals = training_problems(
        method=request.method,
        params={},
        privacy=request.privacy,
        dataset=DatasetSchema(columns={}, train_rows=train_rows) if ready and train_rows else None,
        limits=limits,
        remaining_epsilon=left,
    )
    reasons = [r.message for r in refusals if r.code in _PRIVACY_CODES]
    if not ready:
        reasons.append(
            f"the dataset is {row['status']}; its privacy can be checked once it is ready"
        )
    return PrivacyVerdict(
        ok=not reasons,
        epsilon=epsilon,
        delta=default_delta(train_rows) if delta is None and train_rows else delta,
        reasons=reasons,
        remaining_epsilon=left,
        train_rows=train_rows,
    )


#: The refusals of the training check that are about privacy (the dry run's scope).
_PRIVACY_CODES = frozenset(
    {"unknown_method", "privacy_not_applicable", "invalid_privacy", "budget_exhausted"}
)


async def remaining_epsilon(session: AsyncSession, dataset: Any, *, budget_epsilon: float) -> float:
    """ε the dataset's budget ledger has left, as the trainer last reported it.

    ``budget_epsilon`` (a ledger's total) when the ledger has no entry yet.
    """
    latest = (
        _entries(dataset, await ledger_of(session, dataset))
        .order_by(privacy_ledger.c.occurred_at.desc(), privacy_ledger.c.id.desc())
        .limit(1)
    )
    row = (await session.execute(latest)).first()
    if row is None or row.remaining_epsilon is None:
        return budget_epsilon
    return float(row.remaining_epsilon)
