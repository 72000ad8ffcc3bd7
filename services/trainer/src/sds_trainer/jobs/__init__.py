"""The trainer's durable jobs: training and sampling (see ``sds_common.jobs``)."""

from collections.abc import Mapping

from sds_common.jobs import JobKind
from sds_common.runtime.service import Service
from sds_trainer.jobs.sampling import SamplingJob
from sds_trainer.jobs.training import TrainingJob


def job_kinds(service: Service) -> Mapping[str, JobKind]:
    """Job kinds of the trainer, bound to the assembled service."""
    training = TrainingJob(service)
    sampling = SamplingJob(service, models=training.models)
    return {
        # A training reports progress at every step: a hung one is stopped and failed.
        "train": JobKind(
            run=training.run, give_up=training.give_up, stall_s=training.settings.trainer_stall_s
        ),
        "sample": JobKind(run=sampling.run, give_up=sampling.give_up),
    }
