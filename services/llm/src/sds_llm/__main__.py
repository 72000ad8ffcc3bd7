"""``python -m sds_llm``: run the llm service as its own process."""

from sds_common.runtime.service import run_service
from sds_llm.bootstrap import SPEC
from sds_llm.config import LlmSettings

if __name__ == "__main__":
    run_service(SPEC, LlmSettings())
