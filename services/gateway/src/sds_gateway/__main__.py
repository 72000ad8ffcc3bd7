"""``python -m sds_gateway``: run the gateway service as its own process."""

from sds_common.runtime.service import run_service
from sds_gateway.bootstrap import SPEC
from sds_gateway.config import GatewaySettings

if __name__ == "__main__":
    run_service(SPEC, GatewaySettings())
