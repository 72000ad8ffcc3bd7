"""Privacy rules shared by the services that enforce them and the gateway that previews them."""

from sds_common.privacy.policy import PolicyLimits, ResolvedPrivacy, check_request, default_delta

__all__ = ["PolicyLimits", "ResolvedPrivacy", "check_request", "default_delta"]
