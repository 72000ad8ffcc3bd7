"""Durable background jobs: long work that survives a crash, never an in-process fire-and-forget.

An event handler that starts minutes of work (training, evaluation) only *enqueues* a job row in
its transaction. A ``JobRunner`` claims queued jobs with a lease, runs them, and renews the lease
while they run. If the process dies, the lease expires and the job is claimed again (by this
process after a restart, or another replica), and the handler resumes from its own checkpoint.
A job that keeps failing is given up after ``max_attempts`` and its ``give_up`` runs, so the
failure is announced (and, for training, the privacy budget released) instead of lost.

No job waits forever: a job whose claims keep running out (its worker dies) is given up after
``max_attempts`` claims, one that reports progress and then hangs after its kind's ``stall_s``,
one that keeps deferring itself after ``max_wait_s``; a database outage delays the runner's
writes (retried with backoff) but never ends its loops, and ``JobRunner.check`` tells ``/ready``
when the runner is dead or stalled. Each job runs in a span whose parent is the trace of the
event that queued it.
"""

from sds_common.jobs.context import GiveUpHandler, JobContext, JobHandler, JobKind
from sds_common.jobs.runner import JobRunner
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
    JobLostError,
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
    "JobLostError",
    "JobRunner",
    "add_job_table",
    "cancel_requested",
    "enqueue",
    "finish",
    "job_status",
    "request_cancel",
]
