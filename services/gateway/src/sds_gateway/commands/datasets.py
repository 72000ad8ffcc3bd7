"""Uploading and deleting datasets."""

from __future__ import annotations

import contextlib
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert

from sds_common.auth import Identity
from sds_common.db import Database
from sds_common.events import DatasetDeleted, DatasetUploaded
from sds_common.events.datasets import TableFormat
from sds_common.storage import ObjectInfo, ObjectStore, ObjectTooLarge
from sds_common.tables import ColumnOverride
from sds_gateway.adapters.multipart import MultipartReader
from sds_gateway.adapters.orm import datasets, jobs
from sds_gateway.adapters.records import advance, create_job, member_role, utcnow
from sds_gateway.domain.access import Need, authorise
from sds_gateway.domain.errors import Invalid, PayloadTooLarge
from sds_gateway.domain.status import DATASET_RANK, DatasetStatus, JobKind
from sds_gateway.domain.uploads import (
    CONTENT_TYPES,
    detect_format,
    parse_column_overrides,
    raw_object_key,
)
from sds_gateway.schemas.datasets import Dataset
from sds_gateway.views import dataset_view, load_visible

log = logging.getLogger(__name__)

TEXT_FIELDS = frozenset({"project_id", "name", "target_column", "columns"})


def _project_id(value: str | None) -> str:
    if not value:
        raise Invalid("the form field 'project_id' is required", code="project_required")
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        raise Invalid("'project_id' is not a project id", code="invalid_project_id") from None


async def _authorise_upload(database: Database, user: Identity, project_id: str) -> None:
    async with database.sessions() as session:
        role = await member_role(session, project_id=project_id, user_id=user.user_id)
    authorise(role, Need.WRITE, what="project")


@dataclass
class _Received:
    """What an upload form carried: its text fields and the stored file."""

    fields: dict[str, str] = field(default_factory=dict)
    stored: ObjectInfo | None = None
    filename: str = ""
    table_format: TableFormat = "csv"


async def upload_dataset(
    *,
    database: Database,
    storage: ObjectStore,
    user: Identity,
    form: MultipartReader,
    max_bytes: int,
) -> Dataset:
    """Stream the form's file into object storage, then record it and emit ``DatasetUploaded``.

    The project is checked before the file is read when ``project_id`` comes first in the form
    (as browsers and common clients send it), and again in the final transaction. Whatever fails
    after the object was stored removes it again.
    """
    dataset_id = str(uuid.uuid4())
    received = _Received()
    try:
        await _receive(
            received,
            database=database,
            storage=storage,
            user=user,
            form=form,
            dataset_id=dataset_id,
            max_bytes=max_bytes,
        )
        assert received.stored is not None
        return await _record_upload(
            database,
            user,
            dataset_id=dataset_id,
            project_id=_project_id(received.fields.get("project_id")),
            stored=received.stored,
            filename=received.filename,
            table_format=received.table_format,
            name=received.fields.get("name") or received.filename,
            target_column=received.fields.get("target_column") or None,
            column_overrides=parse_column_overrides(received.fields.get("columns")),
        )
    except BaseException:
        if received.stored is not None:
            with contextlib.suppress(Exception):
                await storage.delete(received.stored.key)
        raise


async def _receive(
    received: _Received,
    *,
    database: Database,
    storage: ObjectStore,
    user: Identity,
    form: MultipartReader,
    dataset_id: str,
    max_bytes: int,
) -> None:
    """Read the form into ``received``, streaming the file into storage."""
    while (part := await form.next_part()) is not None:
        if part.name == "file":
            if received.stored is not None:
                raise Invalid("send exactly one file per upload", code="one_file_only")
            received.filename = (part.filename or "").strip()
            if not received.filename:
                raise Invalid("the 'file' field has no file name", code="filename_required")
            received.table_format = detect_format(received.filename, part.content_type)
            if "project_id" in received.fields:
                await _authorise_upload(database, user, _project_id(received.fields["project_id"]))
            try:
                received.stored = await storage.put_stream(
                    raw_object_key(dataset_id, received.filename),
                    form.data(),
                    content_type=CONTENT_TYPES[received.table_format],
                    max_bytes=max_bytes,
                )
            except ObjectTooLarge:
                raise PayloadTooLarge(
                    f"the file is larger than the upload limit of {max_bytes} bytes "
                    f"({max_bytes / 1_000_000:.0f} MB); nothing was stored",
                    code="upload_too_large",
                ) from None
        elif part.name in TEXT_FIELDS:
            received.fields[part.name] = (await form.text()).strip()
    if received.stored is None:
        raise Invalid("the form field 'file' is required", code="file_required")
    if received.stored.size == 0:
        raise Invalid("the uploaded file is empty", code="empty_file")


async def _record_upload(
    database: Database,
    user: Identity,
    *,
    dataset_id: str,
    project_id: str,
    stored: ObjectInfo,
    filename: str,
    table_format: TableFormat,
    name: str,
    target_column: str | None,
    column_overrides: dict[str, ColumnOverride],
) -> Dataset:
    if len(name) > 200:
        raise Invalid("'name' is longer than 200 characters", code="invalid_name")
    now = utcnow()
    async with database.unit_of_work(actor=user.user_id) as uow:
        authorise(
            await member_role(uow.session, project_id=project_id, user_id=user.user_id),
            Need.WRITE,
            what="project",
        )
        row: dict[str, Any] = {
            "id": dataset_id,
            "project_id": project_id,
            "name": name,
            "filename": filename[:255],
            "format": table_format,
            "size_bytes": stored.size,
            "sha256": stored.sha256,
            "object_key": stored.key,
            "status": DatasetStatus.UPLOADED,
            "target_column": target_column,
            "created_by": user.user_id,
            "created_at": now,
            "updated_at": now,
        }
        await uow.session.execute(insert(datasets).values(**row))
        await create_job(
            uow.session,
            job_id=dataset_id,
            project_id=project_id,
            kind=JobKind.DATASET,
            message="uploaded; waiting for validation",
        )
        await uow.emit(
            DatasetUploaded(
                dataset_id=uuid.UUID(dataset_id),
                name=name,
                object_key=stored.key,
                filename=filename,
                format=table_format,
                size_bytes=stored.size,
                sha256=stored.sha256,
                target_column=target_column,
                column_overrides=column_overrides,
            ),
            project_id=project_id,
        )
        created, _ = await load_visible(
            uow.session, datasets, row_id=dataset_id, user=user, need=Need.READ, what="dataset"
        )
    return dataset_view(created)


async def delete_dataset(
    *, database: Database, storage: ObjectStore, user: Identity, dataset_id: str
) -> None:
    """Mark a dataset deleted, emit ``DatasetDeleted`` and remove the upload the gateway stored.

    Other services delete what they derived from it when they see the event.
    """
    async with database.unit_of_work(actor=user.user_id) as uow:
        row, _ = await load_visible(
            uow.session, datasets, row_id=dataset_id, user=user, need=Need.WRITE, what="dataset"
        )
        if row["status"] == DatasetStatus.DELETED:
            return
        await advance(
            uow.session,
            datasets,
            row_id=dataset_id,
            ranks=DATASET_RANK,
            status=DatasetStatus.DELETED,
        )
        await uow.session.execute(
            jobs.update()
            .where(jobs.c.id == dataset_id, jobs.c.status.in_(("queued", "running")))
            .values(status="cancelled", message="dataset deleted", updated_at=utcnow())
        )
        await uow.emit(
            DatasetDeleted(dataset_id=uuid.UUID(dataset_id)), project_id=row["project_id"]
        )
    try:
        await storage.delete_prefix(f"datasets/{dataset_id}/raw/")
    except Exception:
        # The dataset is deleted for every reader; a leftover upload is logged for cleanup.
        log.exception("could not remove the upload of deleted dataset %s", dataset_id)
