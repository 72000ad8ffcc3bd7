"""``python -m sds_evaluator``: run the evaluator service as its own process."""

from sds_common.runtime.service import run_service
from sds_evaluator.bootstrap import SPEC
from sds_evaluator.config import EvaluatorSettings

if __name__ == "__main__":
    run_service(SPEC, EvaluatorSettings())
