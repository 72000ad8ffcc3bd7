"""The read side: what the API shows, straight from the gateway's own read models.

Every lookup is scoped to the caller: a resource of a project the caller is not a member of is
"not found", exactly like one that does not exist.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from sqlalchemy import Select, Table, and_, bindparam, or_, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from sds_common.auth import Identity
from sds_common.db import Database
from sds_common.ids import evaluation_id_for
from sds_gateway.adapters.orm import jobs, project_members, projects
from sds_gateway.adapters.records import as_utc, member_role, utc
from sds_gateway.domain.access import (
    KEY_SCOPE,
    Need,
    ProjectRole,
    authorise,
    capped_role,
    scope_of,
)
from sds_gateway.domain.errors import NotFound
from sds_gateway.domain.pagination import Cursor
from sds_gateway.schemas.common import ErrorInfo, Job, JobLink, Page, job_link
from sds_gateway.schemas.datasets import Column, Dataset
from sds_gateway.schemas.pipeline import Evaluation, Generator, SyntheticDataset
from sds_gateway.schemas.projects import Project

Row = RowMapping
#: A SQLAlchemy row, or the same columns as ``Database.fetch_one`` returns them.
AnyRow = RowMapping | Mapping[str, Any]
#: The label of the caller's role in ``fetch_visible``'s row (no table has such a column).
_CALLER_ROLE = "caller_member_role"


async def load_visible(
    session: AsyncSession,
    table: Table,
    *,
    row_id: str,
    user: Identity,
    need: Need,
    what: str,
) -> tuple[Row, ProjectRole]:
    """Return a row of ``table`` (with its job's columns) the user may access as ``need``.

    Raises:
        NotFound: no such row, or the user is not a member of its project.
        Forbidden: a member whose role does not allow ``need``.
    """
    row = (
        (
            await session.execute(
                select(table, *_job_columns())
                .outerjoin(jobs, jobs.c.id == table.c.id)
                .where(table.c.id == row_id)
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"{what} not found")
    role = await member_role(session, project_id=row["project_id"], user_id=user.user_id)
    return row, authorise(role, need, what=what)


async def fetch_visible(
    database: Database,
    table: Table,
    *,
    row_id: str,
    user: Identity,
    need: Need,
    what: str,
) -> tuple[AnyRow, ProjectRole]:
    """``load_visible`` in one statement outside any session: the row, its job and the caller's
    role read in one snapshot (``Database.fetch_one``), for routes that only read.

    Raises:
        NotFound: no such row, or the user is not a member of its project.
        Forbidden: a member whose role does not allow ``need``.
    """
    row = await database.fetch_one(_visible_one(table), {"row_id": row_id, "user_id": user.user_id})
    if row is None:
        raise NotFound(f"{what} not found")
    role = capped_role(row[_CALLER_ROLE], project_id=row["project_id"], scope=KEY_SCOPE.get())
    return row, authorise(role, need, what=what)


@functools.cache
def _visible_one(table: Table) -> Select[Any]:
    """``fetch_visible``'s statement for ``table``, built once (binds: row_id, user_id)."""
    role_of_caller = (
        select(project_members.c.role)
        .join(projects, projects.c.id == project_members.c.project_id)
        .where(
            project_members.c.project_id == table.c.project_id,
            project_members.c.user_id == bindparam("user_id"),
            projects.c.deleted_at.is_(None),
        )
        .scalar_subquery()
        .label(_CALLER_ROLE)
    )
    return (
        select(table, *_job_columns(), role_of_caller)
        .outerjoin(jobs, jobs.c.id == table.c.id)
        .where(table.c.id == bindparam("row_id"))
    )


def _job_columns() -> list[Any]:
    return [
        jobs.c.kind.label("job_kind"),
        jobs.c.status.label("job_status"),
        jobs.c.progress.label("job_progress"),
    ]


def visible_select(table: Table, user: Identity) -> Select[Any]:
    """Rows of ``table`` in the live projects the user is a member of, with their job.

    An API key sees only its own project.
    """
    query = (
        select(table, *_job_columns())
        .outerjoin(jobs, jobs.c.id == table.c.id)
        .join(
            project_members,
            and_(
                project_members.c.project_id == table.c.project_id,
                project_members.c.user_id == user.user_id,
            ),
        )
        .join(projects, and_(projects.c.id == table.c.project_id, projects.c.deleted_at.is_(None)))
    )
    scope = scope_of(user)
    return query if scope is None else query.where(table.c.project_id == scope.project_id)


async def page_of(
    session: AsyncSession, query: Select[Any], table: Table, *, limit: int, cursor: str | None
) -> tuple[list[Row], str | None]:
    """Run ``query`` newest first from ``cursor``; return a page of rows and the next cursor."""
    if cursor is not None:
        after = Cursor.decode(cursor)
        query = query.where(
            or_(
                table.c.created_at < after.created_at,
                and_(table.c.created_at == after.created_at, table.c.id < after.id),
            )
        )
    query = query.order_by(table.c.created_at.desc(), table.c.id.desc()).limit(limit + 1)
    rows = list((await session.execute(query)).mappings().all())
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    next_cursor = Cursor(created_at=last["created_at"], id=last["id"]).encode()
    return rows[:limit], next_cursor


def _job(row: AnyRow) -> JobLink | None:
    if row.get("job_kind") is None:
        return None
    return job_link(
        job_id=row["id"],
        kind=row["job_kind"],
        status=row["job_status"],
        progress=row["job_progress"],
    )


def _error(row: AnyRow) -> ErrorInfo | None:
    if row.get("error_code") is None:
        return None
    return ErrorInfo(
        code=row["error_code"],
        message=row.get("error_message") or "",
        row=row.get("error_row"),
        column=row.get("error_column"),
    )


# -- converters -------------------------------------------------------------------------------


def project_view(row: Row, role: str) -> Project:
    """A project as its member sees it."""
    return Project(
        id=row["id"],
        name=row["name"],
        description=row["description"],
        role=ProjectRole(role),
        created_by=row["created_by"],
        created_at=utc(row["created_at"]),
        updated_at=utc(row["updated_at"]),
    )


def dataset_view(row: AnyRow) -> Dataset:
    """A dataset row as the API shows it."""
    columns = row["columns"]
    return Dataset(
        id=row["id"],
        project_id=row["project_id"],
        name=row["name"],
        filename=row["filename"],
        format=row["format"],
        size_bytes=row["size_bytes"],
        sha256=row["sha256"],
        source=row["source"],
        status=row["status"],
        error=_error(row),
        n_rows=row["n_rows"],
        n_columns=row["n_columns"],
        train_rows=row["train_rows"],
        columns=[Column.model_validate(c) for c in columns] if columns is not None else None,
        target_column=row["target_column"],
        created_by=row["created_by"],
        created_at=utc(row["created_at"]),
        updated_at=utc(row["updated_at"]),
        job=_job(row),
    )


def generator_view(row: Row) -> Generator:
    """A generator row as the API shows it."""
    return Generator(
        id=row["id"],
        project_id=row["project_id"],
        dataset_id=row["dataset_id"],
        method=row["method"],
        params=row["params"],
        privacy=row["privacy"],
        status=row["status"],
        device=row["device"],
        epoch=row["epoch"],
        total_epochs=row["total_epochs"],
        epsilon_spent=row["epsilon_spent"],
        losses=row["losses"],
        epsilon=row["epsilon"],
        delta=row["delta"],
        error=_error(row),
        created_by=row["created_by"],
        created_at=utc(row["created_at"]),
        updated_at=utc(row["updated_at"]),
        started_at=as_utc(row["started_at"]),
        finished_at=as_utc(row["finished_at"]),
        cancel_requested_at=as_utc(row["cancel_requested_at"]),
        job=_job(row),
    )


def synthetic_view(row: Row) -> SyntheticDataset:
    """A synthetic dataset row as the API shows it."""
    base = f"/api/v1/synthetic-datasets/{row['id']}/download"
    done = row["status"] == "succeeded"
    return SyntheticDataset(
        id=row["id"],
        project_id=row["project_id"],
        generator_id=row["generator_id"],
        dataset_id=row["dataset_id"],
        rows_requested=row["rows_requested"],
        rows=row["rows"],
        seed=row["seed"],
        conditions=row["conditions"],
        status=row["status"],
        error=_error(row),
        evaluation_id=str(evaluation_id_for(UUID(row["id"]))),
        created_by=row["created_by"],
        created_at=utc(row["created_at"]),
        updated_at=utc(row["updated_at"]),
        finished_at=as_utc(row["finished_at"]),
        download={"csv": f"{base}?format=csv", "parquet": f"{base}?format=parquet"}
        if done
        else None,
        job=_job(row),
    )


def evaluation_view(row: Row) -> Evaluation:
    """An evaluation row as the API shows it."""
    done = row["status"] == "succeeded" and row["html_report_key"] is not None
    return Evaluation(
        id=row["id"],
        project_id=row["project_id"],
        synthetic_dataset_id=row["synthetic_dataset_id"],
        generator_id=row["generator_id"],
        automatic=row["automatic"],
        target_column=row["target_column"],
        status=row["status"],
        scores=row["scores"],
        error=_error(row),
        report=f"/api/v1/evaluations/{row['id']}/report" if done else None,
        created_at=utc(row["created_at"]),
        updated_at=utc(row["updated_at"]),
        finished_at=as_utc(row["finished_at"]),
        job=_job(row),
    )


def job_view(row: Row) -> Job:
    """A job row as the API shows it."""
    link = job_link(
        job_id=row["id"], kind=row["kind"], status=row["status"], progress=row["progress"]
    )
    return Job(
        **link.model_dump(),
        message=row["message"],
        project_id=row["project_id"],
        created_at=utc(row["created_at"]),
        updated_at=utc(row["updated_at"]),
    )


def page(items: list[Any], next_cursor: str | None) -> Page[Any]:
    """Wrap converted items in a page."""
    return Page(items=items, next_cursor=next_cursor)
