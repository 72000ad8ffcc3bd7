"""Lifecycle states of the read models; a status only ever moves forward.

Events arrive at least once and, across topics, in any order. Each status has a rank; an update
applies only when it raises the rank, so a duplicate or a late event (a progress report after the
model was trained) changes nothing. Among final states the first one wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Final


class DatasetStatus(StrEnum):
    UPLOADED = "uploaded"
    PROCESSING = "processing"
    READY = "ready"
    REJECTED = "rejected"
    DELETED = "deleted"


class RunStatus(StrEnum):
    """Status of a generator, a synthetic dataset, an evaluation and a job."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class JobKind(StrEnum):
    DATASET = "dataset"
    TRAINING = "training"
    SAMPLING = "sampling"
    EVALUATION = "evaluation"


DATASET_RANK: Final[Mapping[str, int]] = {
    DatasetStatus.UPLOADED: 0,
    DatasetStatus.PROCESSING: 1,
    DatasetStatus.READY: 2,
    DatasetStatus.REJECTED: 2,
    DatasetStatus.DELETED: 3,
}
RUN_RANK: Final[Mapping[str, int]] = {
    RunStatus.QUEUED: 0,
    RunStatus.RUNNING: 1,
    RunStatus.SUCCEEDED: 2,
    RunStatus.FAILED: 2,
    RunStatus.CANCELLED: 2,
}
TERMINAL: Final = frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED})

#: The job that tracks a dataset's processing, seen through the dataset's status.
JOB_STATUS_OF_DATASET: Final[Mapping[str, RunStatus]] = {
    DatasetStatus.UPLOADED: RunStatus.QUEUED,
    DatasetStatus.PROCESSING: RunStatus.RUNNING,
    DatasetStatus.READY: RunStatus.SUCCEEDED,
    DatasetStatus.REJECTED: RunStatus.FAILED,
    DatasetStatus.DELETED: RunStatus.CANCELLED,
}


def predecessors(ranks: Mapping[str, int], target: str) -> tuple[str, ...]:
    """Statuses from which ``target`` may be reached (those of a strictly lower rank)."""
    return tuple(sorted(status for status, rank in ranks.items() if rank < ranks[target]))


def progresses(ranks: Mapping[str, int], current: str, target: str) -> bool:
    """Whether moving from ``current`` to ``target`` goes forward."""
    return ranks[target] > ranks[current]


def is_terminal(status: str) -> bool:
    """Whether a run status is final."""
    return status in TERMINAL
