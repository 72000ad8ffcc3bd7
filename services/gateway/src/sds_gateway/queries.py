"""Lists and lookups behind the GET routes (read models only, scoped to the caller)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from sds_common.auth import Identity
from sds_common.privacy import PolicyLimits, check_request, default_delta
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
from sds_gateway.domain.methods import is_dp, privacy_problems
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
    """The dataset's budget ledger as the trainer reported it, with totals.

    ``budget_epsilon`` is the dataset's total: what remains while the ledger has no entry yet.
    """
    await load_visible(
        session, datasets, row_id=dataset_id, user=user, need=Need.READ, what="dataset"
    )
    rows = (
        (
            await session.execute(
                select(privacy_ledger)
                .where(privacy_ledger.c.dataset_id == dataset_id)
                .order_by(privacy_ledger.c.id)
            )
        )
        .mappings()
        .all()
    )
    entries = [
        LedgerEntry(
            entry=row["entry"],
            generator_id=row["generator_id"],
            epsilon=row["epsilon"],
            delta=row["delta"],
            remaining_epsilon=row["remaining_epsilon"],
            details=row["details"],
            occurred_at=utc(row["occurred_at"]),
        )
        for row in rows
    ]
    return PrivacyBudget(
        dataset_id=dataset_id,
        entries=entries,
        totals=_totals(entries, budget_epsilon=budget_epsilon),
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
    remaining_epsilon = (
        await privacy_budget(
            session, user, dataset_id=request.dataset_id, budget_epsilon=budget_epsilon
        )
    ).totals.remaining_epsilon
    train_rows: int | None = row["train_rows"]
    epsilon, delta = request.privacy.epsilon, request.privacy.delta
    reasons: list[str] = []
    if not is_dp(request.method):
        reasons.append(
            f"method {request.method!r} is not differentially private: privacy settings would "
            "be ignored"
        )
    reasons += privacy_problems(request.method, request.privacy)
    if row["status"] != DatasetStatus.READY or train_rows is None:
        reasons.append(
            f"the dataset is {row['status']}; its privacy can be checked once it is ready"
        )
        resolved_delta = delta
    else:
        _, policy_reasons = check_request(
            epsilon=epsilon,
            delta=delta,
            n_rows=train_rows,
            remaining_epsilon=remaining_epsilon,
            limits=limits,
        )
        reasons += policy_reasons
        resolved_delta = default_delta(train_rows) if delta is None else delta
    return PrivacyVerdict(
        ok=not reasons,
        epsilon=epsilon,
        delta=resolved_delta,
        reasons=reasons,
        remaining_epsilon=remaining_epsilon,
        train_rows=train_rows,
    )
