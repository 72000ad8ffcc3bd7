"""Durable background jobs: long work that survives a crash, never an in-process fire-and-forget.

An event handler that starts minutes of work (training, evaluation) only *enqueues* a job row in
its transaction. A ``JobRunner`` claims queued jobs with a lease, runs them, and renews the lease
while they run. If the process dies, the lease expires and the job is claimed again (by this
process after a restart, or another replica), and the handler resumes from its own checkpoint.
A job that keeps failing is given up after ``max_attempts`` and its ``on_give_up`` runs, so the
failure is announced (and, for training, the privacy budget released) instead of lost.
"""

from sds_common.jobs.runner import GiveUpHandler, JobContext, JobHandler, JobKind, JobRunner
from sds_common.jobs.table import (
    CANCELLED,
    FAILED,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    TERMINAL,
    JobDeferredError,
    JobFailedError,
    JobHandedBackError,
    add_job_table,
    cancel_requested,
    enqueue,
    finish,
    job_status,
    request_cancel,
)

__all__ = [
    "CANCELLED",
    "FAILED",
    "QUEUED",
    "RUNNING",
    "SUCCEEDED",
    "TERMINAL",
    "GiveUpHandler",
    "JobContext",
    "JobDeferredError",
    "JobFailedError",
    "JobHandedBackError",
    "JobHandler",
    "JobKind",
    "JobRunner",
    "add_job_table",
    "cancel_requested",
    "enqueue",
    "finish",
    "job_status",
    "request_cancel",
]
