"""``python -m sds_datasets``: run the datasets service as its own process."""

from sds_common.runtime.service import run_service
from sds_datasets.bootstrap import SPEC
from sds_datasets.config import DatasetsSettings

if __name__ == "__main__":
    run_service(SPEC, DatasetsSettings())
