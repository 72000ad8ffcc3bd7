"""What the datasets service does for each event it consumes."""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from sds_common.bus import DeadLetter, Subscription
from sds_common.db.uow import UnitOfWork
from sds_common.events.base import Envelope, Event
from sds_common.events.datasets import (
    ColumnSummary,
    DatasetProfiled,
    DatasetRejected,
    DatasetUploaded,
)
from sds_common.runtime.service import Service
from sds_common.storage import ObjectStore
from sds_common.tables.public_metadata import PROPOSAL_NAME, proposal_key
from sds_datasets.config import datasets_settings
from sds_datasets.domain.errors import DatasetError
from sds_datasets.domain.limits import Limits
from sds_datasets.domain.pipeline import PreparedDataset, prepare_dataset
from sds_datasets.domain.proposal import write_proposal

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutputKeys:
    """Where a dataset's derived objects live (the raw upload is the gateway's key)."""

    table: str
    train: str
    holdout: str
    profile: str
    proposal: str

    @classmethod
    def of(cls, dataset_id: UUID) -> OutputKeys:
        """The keys of one dataset."""
        base = f"datasets/{dataset_id}"
        return cls(
            table=f"{base}/table.parquet",
            train=f"{base}/train.parquet",
            holdout=f"{base}/holdout.parquet",
            profile=f"{base}/profile.json",
            proposal=proposal_key(f"{base}/profile.json"),
        )

    def all(self) -> tuple[str, ...]:
        """Every key, in the order they are written."""
        return (self.table, self.train, self.holdout, self.profile, self.proposal)


class ProfileUpload:
    """Validates, profiles and splits an uploaded table, then says how it went.

    Outputs are overwritten at fixed keys and depend only on the file, the settings and the
    dataset id, so a redelivered event rewrites the same content.
    """

    def __init__(self, *, storage: ObjectStore, limits: Limits) -> None:
        self._storage = storage
        self._limits = limits

    async def __call__(self, _envelope: Envelope, event: Event, uow: UnitOfWork) -> None:
        """Handle one ``DatasetUploaded``."""
        assert isinstance(event, DatasetUploaded)
        keys = OutputKeys.of(event.dataset_id)
        with tempfile.TemporaryDirectory(prefix="sds-datasets-") as tmp:
            workdir = Path(tmp)
            source = workdir / "upload"
            await self._storage.download_to(event.object_key, source)
            try:
                # Parsing and statistics are CPU-bound: a worker thread keeps the loop serving
                # health checks and other consumers meanwhile.
                prepared = await asyncio.to_thread(
                    prepare_dataset,
                    source=source,
                    workdir=workdir,
                    table_format=event.format,
                    dataset_id=event.dataset_id,
                    target_column=event.target_column,
                    limits=self._limits,
                    expected_sha256=event.sha256,
                    overrides=event.column_overrides,
                )
                # The schema review's proposal (not DP, owner-only like the profile).
                await asyncio.to_thread(
                    write_proposal,
                    prepared,
                    target_column=event.target_column,
                    path=workdir / PROPOSAL_NAME,
                )
                await self._store(prepared, keys)
                await self._storage.upload_from(
                    keys.proposal, workdir / PROPOSAL_NAME, content_type="application/json"
                )
            except DatasetError as error:
                await self._discard(keys)
                log.info("dataset %s rejected: %s", event.dataset_id, error.code)
                await uow.emit(
                    DatasetRejected(
                        dataset_id=event.dataset_id,
                        code=error.code,
                        message=error.message,
                        row=error.row,
                        column=error.column,
                    )
                )
                return
            except BaseException:
                # Leave nothing half-written; the bus retries the whole handler.
                await self._discard(keys)
                raise
        await uow.emit(_profiled(event, prepared, keys))

    async def _store(self, prepared: PreparedDataset, keys: OutputKeys) -> None:
        parquet = "application/vnd.apache.parquet"
        await self._storage.upload_from(keys.table, prepared.table_path, content_type=parquet)
        await self._storage.upload_from(keys.train, prepared.train_path, content_type=parquet)
        await self._storage.upload_from(keys.holdout, prepared.holdout_path, content_type=parquet)
        await self._storage.upload_from(
            keys.profile, prepared.profile_path, content_type="application/json"
        )

    async def _discard(self, keys: OutputKeys) -> None:
        for key in keys.all():
            await self._storage.delete(key)


def _profiled(event: DatasetUploaded, prepared: PreparedDataset, keys: OutputKeys) -> Event:
    return DatasetProfiled(
        dataset_id=event.dataset_id,
        n_rows=prepared.n_rows,
        n_columns=len(prepared.columns),
        columns=tuple(
            ColumnSummary(
                name=column.name,
                kind=column.kind,
                missing_fraction=column.missing_fraction,
                distinct=column.distinct,
                pii=column.pii,
                format=column.format,
            )
            for column in prepared.columns
        ),
        profile_key=keys.profile,
        table_key=keys.table,
        train_key=keys.train,
        holdout_key=keys.holdout,
        holdout_rows=prepared.holdout_rows,
        target_column=event.target_column,
        sha256=event.sha256,
        source=event.source,
    )


async def upload_abandoned(letter: DeadLetter, uow: UnitOfWork) -> None:
    """An upload this service gave up on is rejected, so the dataset does not wait forever."""
    dataset_id = letter.uuid("dataset_id")
    if dataset_id is None:
        log.error("dead-lettered upload %s names no dataset", letter.envelope.event_id)
        return
    message = letter.public_reason("the upload") + "; upload the file again or contact support"
    await uow.emit(DatasetRejected(dataset_id=dataset_id, code=letter.code, message=message))


def subscriptions(service: Service) -> Sequence[Subscription]:
    """The datasets service's event handlers."""
    settings = datasets_settings(service.settings)
    handler = ProfileUpload(storage=service.storage, limits=settings.limits())
    return (
        Subscription.of(
            DatasetUploaded,
            handler,
            name="datasets.profile_upload",
            on_dead_letter=upload_abandoned,
        ),
    )
