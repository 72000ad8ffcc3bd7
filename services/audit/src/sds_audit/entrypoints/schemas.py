"""Response bodies of the audit routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from sds_audit.domain.chain import ChainRecord, Checkpoint, as_utc
from sds_audit.handlers import VerifyReport

#: What a record is about; the last three flag an event the log recorded without interpreting.
ResourceType = Literal[
    "dataset",
    "generator",
    "synthetic_dataset",
    "evaluation",
    "explanation",
    "user",
    "unrecognised_type",
    "unrecognised_version",
    "invalid_payload",
]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class AuditRecord(_Out):
    """One audit record; ``hash`` covers every other field (see ``GET /audit/verify``)."""

    seq: int
    event_id: str
    event_type: str
    event_version: int
    occurred_at: datetime
    recorded_at: datetime
    actor: str
    project_id: str | None
    resource_type: str
    resource_id: str
    correlation_id: str
    causation_id: str | None
    privacy: dict[str, Any] | None
    payload: dict[str, Any]
    prev_hash: str
    hash: str

    @classmethod
    def of(cls, record: ChainRecord) -> AuditRecord:
        """The API form of a stored record."""
        return cls(
            seq=record.seq,
            event_id=record.event_id,
            event_type=record.event_type,
            event_version=record.event_version,
            occurred_at=as_utc(record.occurred_at),
            recorded_at=as_utc(record.recorded_at),
            actor=record.actor,
            project_id=record.project_id,
            resource_type=record.resource_type,
            resource_id=record.resource_id,
            correlation_id=record.correlation_id,
            causation_id=record.causation_id,
            privacy=record.privacy,
            payload=record.payload,
            prev_hash=record.prev_hash,
            hash=record.hash,
        )


class AuditPage(_Out):
    """Records in log order; pass ``next_cursor`` as ``cursor`` for the next page."""

    items: list[AuditRecord]
    next_cursor: int | None


class Trail(_Out):
    """Every record of one generator's life, in log order."""

    generator_id: str
    items: list[AuditRecord]


class VerifyOut(_Out):
    """A verification of the whole chain."""

    ok: bool
    records_checked: int
    checkpoints_checked: int
    head_seq: int
    last_verified_seq: int
    first_broken_seq: int | None
    problem: str | None
    detail: str
    seconds: float

    @classmethod
    def of(cls, report: VerifyReport) -> VerifyOut:
        """The API form of a verification report."""
        result = report.result
        return cls(
            ok=result.ok,
            records_checked=result.records_checked,
            checkpoints_checked=result.checkpoints_checked,
            head_seq=report.head.seq,
            last_verified_seq=result.last_seq,
            first_broken_seq=result.broken_seq,
            problem=result.problem.value if result.problem is not None else None,
            detail=result.detail,
            seconds=round(report.seconds, 3),
        )


class CheckpointOut(_Out):
    """A signed statement of the chain head."""

    seq: int
    hash: str
    created_at: datetime
    reason: str
    signature: str

    @classmethod
    def of(cls, checkpoint: Checkpoint) -> CheckpointOut:
        """The API form of a checkpoint."""
        return cls(
            seq=checkpoint.seq,
            hash=checkpoint.hash,
            created_at=as_utc(checkpoint.created_at),
            reason=checkpoint.reason,
            signature=checkpoint.signature,
        )
