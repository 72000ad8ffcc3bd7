"""The ``explain`` job: a provider call outside every consumer transaction, durably.

A handler queues the job in its transaction (``handlers.queue_explanation``) and returns at
once, so a slow or failing model neither holds a database transaction nor stalls the consumer's
partition. The job reads the facts, asks the assistant (timeouts, retries with backoff, the
offline fallback, the token budget), and only then opens one short transaction that emits
``ExplanationGenerated`` through the outbox and marks itself done. A process that dies in the
middle leaves the job's lease to expire; it is claimed again and generated anew (the explanation
id is fixed, so the stored object and the event name the same explanation).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from uuid import UUID

from sds_common.events import Envelope, ExplanationFailed
from sds_common.events.llm import ExplanationKind
from sds_common.jobs import (
    FAILED,
    SUCCEEDED,
    JobContext,
    JobDeferredError,
    JobFailedError,
    JobKind,
)
from sds_common.runtime.service import Service
from sds_common.storage import ObjectNotFound
from sds_llm import handlers
from sds_llm.adapters.repository import DatabaseUsageLedger
from sds_llm.parts import LlmParts, parts_of

log = logging.getLogger(__name__)
ACTOR = "llm"
#: How long a job waits for the facts of its subject (events of another topic may come later).
SUBJECT_WAIT_S = 300.0
SUBJECT_POLL_S = 2.0


class ExplainJob:
    """Runs ``explain`` jobs for the llm service."""

    def __init__(self, parts: LlmParts) -> None:
        self._parts = parts

    async def run(self, ctx: JobContext) -> None:
        """Generate one explanation and announce it."""
        parts = self._parts
        envelope = Envelope.model_validate(ctx.payload["envelope"])
        explanation_id = UUID(ctx.payload["explanation_id"])
        kind: ExplanationKind = ctx.payload["kind"]
        subject_id = UUID(ctx.payload["subject_id"])
        try:
            result = await handlers.generate(
                parts,
                kind=kind,
                subject_id=subject_id,
                project_id=envelope.project_id,
                ledger=DatabaseUsageLedger(parts.database),
                over_budget="offline",
            )
        except handlers.UnknownSubjectError as exc:
            waited = (datetime.now(UTC) - envelope.occurred_at).total_seconds()
            if waited < SUBJECT_WAIT_S:
                raise JobDeferredError(str(exc), delay_s=SUBJECT_POLL_S) from exc
            raise JobFailedError("unknown_subject", f"{exc} after {waited:.0f} s") from exc
        except ObjectNotFound as exc:
            raise JobFailedError("report_missing", f"the report of {subject_id} is gone") from exc
        async with parts.database.unit_of_work(actor=ACTOR, caused_by=envelope) as uow:
            await handlers.publish(
                parts,
                uow,
                explanation_id=explanation_id,
                kind=kind,
                subject_id=subject_id,
                result=result,
                project_id=envelope.project_id,
            )
            await ctx.finish(uow, status=SUCCEEDED)

    async def give_up(self, ctx: JobContext, code: str, message: str) -> None:
        """Announce that the explanation will not come (``ExplanationFailed``)."""
        log.error(
            "explanation %s of %s %s failed: %s: %s",
            ctx.payload.get("explanation_id"),
            ctx.payload.get("kind"),
            ctx.payload.get("subject_id"),
            code,
            message,
        )
        envelope = Envelope.model_validate(ctx.payload["envelope"])
        async with self._parts.database.unit_of_work(actor=ACTOR, caused_by=envelope) as uow:
            await uow.emit(
                ExplanationFailed(
                    explanation_id=UUID(ctx.payload["explanation_id"]),
                    kind=ctx.payload["kind"],
                    subject_id=UUID(ctx.payload["subject_id"]),
                    code=code,
                    message=message,
                ),
                project_id=envelope.project_id,
            )
            await ctx.finish(uow, status=FAILED, error=f"{code}: {message}")


def job_kinds(service: Service) -> Mapping[str, JobKind]:
    """Job kinds of the llm service, bound to the assembled service."""
    job = ExplainJob(parts_of(service))
    return {handlers.EXPLAIN: JobKind(run=job.run, give_up=job.give_up)}
