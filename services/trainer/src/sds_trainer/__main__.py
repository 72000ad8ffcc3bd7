"""``python -m sds_trainer``: run the trainer service as its own process."""

from sds_common.runtime.service import run_service
from sds_trainer.bootstrap import SPEC
from sds_trainer.config import TrainerSettings

if __name__ == "__main__":
    run_service(SPEC, TrainerSettings())
