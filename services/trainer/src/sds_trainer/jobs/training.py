"""The training job: validate, reserve budget, train with checkpoints, charge what was spent.

Order of a DP training, each step in its own transaction with the events that announce it:

1. check the request against the policy and reserve ε atomically (PrivacyBudgetReserved,
   TrainingStarted) — nothing has touched the data yet;
2. train in a worker thread; after every epoch the checkpoint is stored *before* progress is
   announced, so a crash resumes from a state whose privacy cost is already accounted; a
   cancellation or a shutdown is seen before the next step, not the next epoch;
3. charge the accountant's ε and release the rest (PrivacyBudgetSpent, PrivacyBudgetReleased,
   ModelTrained) — or, on cancellation, charge every step taken (the unfinished epoch's too),
   on failure what the announced epochs spent, and release the rest (TrainingCancelled /
   TrainingFailed).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select, update

from sds_common.db import UnitOfWork
from sds_common.events import (
    DpConfigRejected,
    Envelope,
    ModelTrained,
    TrainingCancelled,
    TrainingFailed,
    TrainingProgress,
    TrainingRequested,
    TrainingStarted,
)
from sds_common.jobs import (
    CANCELLED,
    FAILED,
    SUCCEEDED,
    JobContext,
    JobDeferredError,
    JobFailedError,
    JobHandedBackError,
    cancel_requested,
)
from sds_common.methods import get_method, model_params
from sds_common.runtime.service import Service
from sds_trainer.adapters import ledger
from sds_trainer.adapters.models import ModelStore, checkpoint_key, privacy_report_key
from sds_trainer.adapters.orm import datasets, generators
from sds_trainer.config import trainer_settings
from sds_trainer.domain.synthesizers import (
    OTHER_LABEL,
    EpochReport,
    FitReport,
    InvalidTrainingConfig,
    PrivacyBudget,
    Synthesizer,
    column_specs,
    get_synthesizer,
    with_target,
)
from sds_trainer.domain.synthesizers import errors as synthesis
from sds_trainer.jobs import budget
from sds_trainer.jobs.checks import fit_seed, refuse_training
from sds_trainer.jobs.declarations import declaration_in_force
from sds_trainer.runtime import pick_device

log = logging.getLogger(__name__)
ACTOR = "trainer"


class TrainingJob:
    """Runs ``train`` jobs for the trainer service."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.settings = trainer_settings(service.settings)
        self.models = ModelStore(service.storage)
        if self.settings.trainer_threads:
            import torch  # noqa: PLC0415 — heavy; only where training happens

            torch.set_num_threads(self.settings.trainer_threads)

    # ------------------------------------------------------------------ run

    async def run(self, ctx: JobContext) -> None:
        """Train one generator (resuming from its checkpoint after a crash)."""
        envelope = Envelope.model_validate(ctx.payload["envelope"])
        request = TrainingRequested.model_validate(envelope.payload)
        generator_id = str(request.generator_id)
        declared = await declaration_in_force(self.service.database, request)
        synthesizer_cls, privacy, dataset = await self._prepare(ctx, envelope, request)
        if synthesizer_cls is None:
            return  # cancelled before it started
        frame = await self._load_training_rows(dataset.train_key)
        requested = request.params.get("public_metadata")
        columns = column_specs(
            dataset.columns,
            frame,
            declared.public_metadata(requested),
            # The owner's declaration in force (schema review) or the request may opt out.
            public_target_classes=declared.target_classes_public
            and request.params.get("public_target_classes", True) is not False,
            other_label=str(request.params.get("other_label", OTHER_LABEL)),
        )
        resume = await self._checkpoint(generator_id)
        progress = _ProgressBridge(self, ctx=ctx, envelope=envelope, request=request)
        model: Synthesizer = synthesizer_cls()
        # Request-level settings (column specs, fit seed, ...), not the model's.
        params = with_target(
            synthesizer_cls, model_params(request.params), _target_column(dataset.columns)
        )
        # Methods that run in rounds (aim, mst) take no epochs.
        epochs = get_method(request.method).trains_in_epochs
        if self.settings.trainer_default_epochs and "epochs" not in params and epochs:
            params["epochs"] = self.settings.trainer_default_epochs
        if self.settings.trainer_device and "device" not in params:
            params["device"] = self.settings.trainer_device
        started = time.monotonic()
        try:
            report = await asyncio.to_thread(
                model.fit,
                frame,
                columns=columns,
                privacy=privacy,
                params=params,
                progress=progress.on_epoch,
                should_stop=progress.should_stop,
                checkpoint=progress.on_checkpoint,
                resume_from=resume,
                seed=fit_seed(request),
            )
        except synthesis.TrainingCancelled as stopped:
            if not (progress.cancel_requested or ctx.cancelled.is_set()):
                # Not a user's cancellation: the process is stopping (or the claim was lost).
                # The checkpoint stays and the job is resumed from it after the lease expires;
                # the steps since it were never announced, and are taken again on the books.
                raise JobHandedBackError(generator_id) from None
            # Stopped between two steps: the accountant's ε covers every step taken, the
            # unfinished epoch's too.
            spent = max(progress.epsilon_spent, stopped.epsilon_spent)
            await self._finish_cancelled(ctx, envelope, request, spent=spent)
            return
        except InvalidTrainingConfig as exc:
            raise JobFailedError("invalid_config", "; ".join(exc.reasons)) from exc
        seconds, used = time.monotonic() - started, declared.report(requested)
        await self._finish_succeeded(
            ctx, envelope, request, model=model, report=report, seconds=seconds, declared=used
        )

    async def _prepare(
        self, ctx: JobContext, envelope: Envelope, request: TrainingRequested
    ) -> tuple[type[Synthesizer] | None, PrivacyBudget | None, Any]:
        generator_id = str(request.generator_id)
        async with self.service.database.unit_of_work(actor=ACTOR, caused_by=envelope) as uow:
            dataset = (
                await uow.session.execute(
                    select(datasets).where(datasets.c.id == str(request.dataset_id))
                )
            ).one_or_none()
            if dataset is None:
                raise JobDeferredError("waiting for the dataset's profile", delay_s=1.0)
            if dataset.status != "ready":
                raise JobFailedError(
                    "dataset_unavailable", f"dataset {request.dataset_id} is {dataset.status}"
                )
            # Read the flag in this transaction: a second one would wait on our own write lock
            # under SQLite.
            if await cancel_requested(uow, ctx.table, job_id=ctx.id):
                await self._cancelled(uow, ctx, request, released=0.0)
                return None, None, dataset
            try:
                synthesizer_cls = get_synthesizer(request.method)
            except InvalidTrainingConfig as exc:
                raise JobFailedError("unknown_method", "; ".join(exc.reasons)) from exc
            refuse_training(request, dataset, epsilon_cap=self.settings.trainer_epsilon_cap)
            privacy = await budget.reserve(uow, request, synthesizer_cls, dataset)
            # The last announced epoch: checkpoints are written before announcements, so a
            # resumed run continues from it (or from a later, unannounced checkpoint).
            report = (
                await uow.session.execute(
                    select(generators.c.report).where(generators.c.id == generator_id)
                )
            ).scalar_one_or_none() or {}
            await uow.emit(
                TrainingStarted(
                    generator_id=request.generator_id,
                    dataset_id=request.dataset_id,
                    device=pick_device(self.settings.trainer_device),
                    resumed_from_epoch=int(report.get("epoch", 0)),
                )
            )
            await uow.session.execute(
                update(generators).where(generators.c.id == generator_id).values(status="running")
            )
        return synthesizer_cls, privacy, dataset

    async def _load_training_rows(self, key: str) -> pd.DataFrame:
        with tempfile.TemporaryDirectory(prefix="sds-train-") as tmp:
            path = Path(tmp) / "train.parquet"
            await self.service.storage.download_to(key, path)
            return await asyncio.to_thread(pd.read_parquet, path)

    async def _checkpoint(self, generator_id: str) -> bytes | None:
        key = checkpoint_key(generator_id)
        if await self.service.storage.exists(key):
            log.info("resuming generator %s from its checkpoint", generator_id)
            return await self.service.storage.get_bytes(key)
        return None

    # ------------------------------------------------------------------ endings

    async def _finish_succeeded(
        self,
        ctx: JobContext,
        envelope: Envelope,
        request: TrainingRequested,
        *,
        model: Synthesizer,
        report: FitReport,
        seconds: float,
        declared: dict[str, Any],
    ) -> None:
        generator_id = str(request.generator_id)
        key = await self.models.save(generator_id, model)
        report_json = {**_report_json(report), "public_metadata": declared}
        await self.service.storage.put_bytes(
            privacy_report_key(generator_id),
            json.dumps(report_json, indent=2).encode(),
            content_type="application/json",
        )
        async with self.service.database.unit_of_work(actor=ACTOR, caused_by=envelope) as uow:
            if report.epsilon is not None:
                released = await ledger.settle(
                    uow,
                    generator_id=generator_id,
                    epsilon_spent=report.epsilon,
                    delta_spent=report.delta or 0.0,
                )
                await budget.announce_spend(uow, request, report=report, released=released)
            await uow.session.execute(
                update(generators)
                .where(generators.c.id == generator_id)
                .values(status="succeeded", model_key=key, report=report_json)
            )
            await uow.emit(
                ModelTrained(
                    generator_id=request.generator_id,
                    dataset_id=request.dataset_id,
                    model_key=key,
                    method=request.method,
                    epsilon=report.epsilon,
                    delta=report.delta,
                    epochs=report.epochs,
                    duration_s=seconds,
                    privacy_report_key=privacy_report_key(generator_id),
                )
            )
            await ctx.finish(uow, status=SUCCEEDED)
        await self.service.storage.delete(checkpoint_key(generator_id))

    async def _finish_cancelled(
        self, ctx: JobContext, envelope: Envelope, request: TrainingRequested, *, spent: float
    ) -> None:
        async with self.service.database.unit_of_work(actor=ACTOR, caused_by=envelope) as uow:
            released = await budget.charge_partial(
                uow, request, spent=spent, reason="training cancelled"
            )
            await self._cancelled(uow, ctx, request, released=released)
        await self.service.storage.delete(checkpoint_key(str(request.generator_id)))

    async def _cancelled(
        self, uow: UnitOfWork, ctx: JobContext, request: TrainingRequested, *, released: float
    ) -> None:
        del released  # announced by _charge_partial
        await uow.session.execute(
            update(generators)
            .where(generators.c.id == str(request.generator_id))
            .values(status="cancelled")
        )
        await uow.emit(
            TrainingCancelled(generator_id=request.generator_id, dataset_id=request.dataset_id)
        )
        await ctx.finish(uow, status=CANCELLED)

    async def give_up(self, ctx: JobContext, code: str, message: str) -> None:
        """Announce a permanent failure; charge completed epochs, release the rest."""
        envelope = Envelope.model_validate(ctx.payload["envelope"])
        request = TrainingRequested.model_validate(envelope.payload)
        generator_id = str(request.generator_id)
        async with self.service.database.unit_of_work(actor=ACTOR, caused_by=envelope) as uow:
            row = (
                await uow.session.execute(
                    select(generators.c.report).where(generators.c.id == generator_id)
                )
            ).one_or_none()
            spent = float((row.report or {}).get("epsilon_spent", 0.0)) if row is not None else 0.0
            await budget.charge_partial(
                uow, request, spent=spent, reason=f"training failed: {message}"
            )
            if code == "invalid_privacy":
                await uow.emit(
                    DpConfigRejected(
                        dataset_id=request.dataset_id,
                        generator_id=request.generator_id,
                        reasons=tuple(message.split("; ")),
                    )
                )
            await uow.session.execute(
                update(generators)
                .where(generators.c.id == generator_id)
                .values(status="failed", error=message)
            )
            await uow.emit(
                TrainingFailed(
                    generator_id=request.generator_id,
                    dataset_id=request.dataset_id,
                    code=code,
                    message=message,
                )
            )
            await ctx.finish(uow, status=FAILED, error=f"{code}: {message}")
        await self.service.storage.delete(checkpoint_key(generator_id))

    async def record_progress(
        self, *, ctx: JobContext, envelope: Envelope, request: TrainingRequested, epoch: EpochReport
    ) -> bool:
        """Announce one epoch; returns whether cancellation was requested.

        The lease is renewed first: a claim that lost the job announces nothing more
        (``JobLostError`` ends the training).
        """
        cancel = await ctx.heartbeat()
        async with self.service.database.unit_of_work(actor=ACTOR, caused_by=envelope) as uow:
            await uow.session.execute(
                update(generators)
                .where(generators.c.id == str(request.generator_id))
                .values(report={"epsilon_spent": epoch.epsilon_spent_so_far, "epoch": epoch.epoch})
            )
            await uow.emit(
                TrainingProgress(
                    generator_id=request.generator_id,
                    epoch=epoch.epoch,
                    total_epochs=epoch.total_epochs,
                    epsilon_spent=epoch.epsilon_spent_so_far if request.privacy else None,
                    losses=_shareable_losses(epoch.losses, private=request.privacy is not None),
                )
            )
        return cancel


class _ProgressBridge:
    """Carries callbacks from the training thread to the event loop and back."""

    def __init__(
        self, job: TrainingJob, *, ctx: JobContext, envelope: Envelope, request: TrainingRequested
    ) -> None:
        self._job = job
        self._ctx = ctx
        self._envelope = envelope
        self._request = request
        self._generator_id = str(request.generator_id)
        self._loop = asyncio.get_running_loop()
        self._stop = threading.Event()
        self.cancel_requested = False
        self.epsilon_spent = 0.0

    def _call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def on_checkpoint(self, epoch: int, state: bytes) -> None:
        del epoch
        self._call(self._job.service.storage.put_bytes(checkpoint_key(self._generator_id), state))

    def on_epoch(self, report: EpochReport) -> None:
        self._ctx.progressed()
        self.epsilon_spent = report.epsilon_spent_so_far
        cancel = self._call(
            self._job.record_progress(
                ctx=self._ctx, envelope=self._envelope, request=self._request, epoch=report
            )
        )
        if cancel:
            self.cancel_requested = True
            self._stop.set()

    def should_stop(self) -> bool:
        # Polled before every training step: a cancellation (watched by the runner while the
        # job runs) or a shutdown stops the training within a step, not an epoch; and each
        # poll tells the runner the training moves on (a hung one is stopped, ``stall_s``).
        self._ctx.progressed()
        return self._stop.is_set() or self._ctx.stop_requested()


def _target_column(columns: list[dict[str, Any]]) -> str | None:
    """The column the dataset's owner declared as the prediction target (None: none)."""
    return next((str(c["name"]) for c in columns if c.get("target")), None)


def _shareable_losses(losses: dict[str, float], *, private: bool) -> dict[str, float]:
    """Losses that may leave the trainer.

    Under DP only the generator's loss is published: it is computed from the DP-trained
    discriminator on generated rows (post-processing). The discriminator's loss also scores real
    rows, a statistic the DP guarantee does not cover, so it stays inside the training.
    """
    if not private:
        return dict(losses)
    return {key: value for key, value in losses.items() if key == "generator"}


def _report_json(report: FitReport) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(json.dumps(dataclasses.asdict(report), default=str))
    return data
