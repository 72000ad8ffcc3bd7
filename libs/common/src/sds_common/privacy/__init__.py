"""Privacy rules shared by the services that enforce them and the gateway that previews them."""

from sds_common.privacy.ledger import (
    MAX_SOURCE_LENGTH,
    InvalidSourceError,
    check_source,
    ledger_meaning,
    ledger_name,
)
from sds_common.privacy.policy import (
    PolicyLimits,
    ResolvedPrivacy,
    budget_problem,
    check_request,
    default_delta,
    policy_problems,
)

__all__ = [
    "MAX_SOURCE_LENGTH",
    "InvalidSourceError",
    "PolicyLimits",
    "ResolvedPrivacy",
    "budget_problem",
    "check_request",
    "check_source",
    "default_delta",
    "ledger_meaning",
    "ledger_name",
    "policy_problems",
]
