"""Privacy rules shared by the services that enforce them and the gateway that previews them."""

from sds_common.privacy.policy import (
    PolicyLimits,
    ResolvedPrivacy,
    budget_problem,
    check_request,
    default_delta,
    policy_problems,
)

__all__ = [
    "PolicyLimits",
    "ResolvedPrivacy",
    "budget_problem",
    "check_request",
    "default_delta",
    "policy_problems",
]
