"""``python -m sds_audit``: run the audit service as its own process."""

from sds_audit.bootstrap import SPEC
from sds_audit.config import AuditSettings
from sds_common.runtime.service import run_service

if __name__ == "__main__":
    run_service(SPEC, AuditSettings())
