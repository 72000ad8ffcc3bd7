"""Privacy policy: re-exported from ``sds_common.privacy.policy``.

The rules live in ``libs/common`` so the gateway's dry run (``POST /privacy/validate``) gives the
same answers as the trainer; this module keeps the trainer's import path working.
"""

from sds_common.privacy.policy import PolicyLimits, ResolvedPrivacy, check_request, default_delta

__all__ = ["PolicyLimits", "ResolvedPrivacy", "check_request", "default_delta"]
