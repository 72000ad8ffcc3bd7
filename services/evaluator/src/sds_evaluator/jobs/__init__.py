"""The evaluator's durable jobs (see ``sds_common.jobs``)."""

from collections.abc import Mapping

from sds_common.jobs import JobKind
from sds_common.runtime.service import Service
from sds_evaluator.jobs.evaluation import EvaluationJob


def job_kinds(service: Service) -> Mapping[str, JobKind]:
    """Job kinds of the evaluator, bound to the assembled service."""
    job = EvaluationJob(service)
    return {"evaluate": JobKind(run=job.run, give_up=job.give_up)}
