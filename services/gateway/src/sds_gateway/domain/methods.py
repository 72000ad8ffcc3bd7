"""Which training methods carry a differential-privacy guarantee, and what a request must say."""

from __future__ import annotations

import re
from typing import Final

from sds_common.events.privacy import PrivacySpec
from sds_gateway.domain.errors import Invalid

#: Methods without a DP guarantee: allowed only when the caller says so explicitly.
NON_DP_METHODS: Final = frozenset({"ctgan", "tvae", "gaussian-copula"})
DEFAULT_METHOD: Final = "dp-ctgan"
#: DP methods built on noisy marginals (zCDP accounting, no DP-SGD): ``accountant`` and
#: ``max_grad_norm`` mean nothing to them.
MARGINAL_METHODS: Final = frozenset({"aim", "mst"})
_METHOD_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def is_dp(method: str) -> bool:
    """Whether ``method`` trains with differential privacy."""
    return method not in NON_DP_METHODS


def privacy_problems(method: str, privacy: PrivacySpec) -> list[str]:
    """Privacy settings a DP ``method`` would silently ignore (empty when none)."""
    if method not in MARGINAL_METHODS:
        return []
    ignored = [k for k in ("accountant", "max_grad_norm") if k in privacy.model_fields_set]
    return [
        f"method {method!r} measures noisy marginals and accounts in zCDP; {k!r} applies to "
        "DP-SGD methods only: drop it"
        for k in ignored
    ]


def check_training_request(method: str, privacy: PrivacySpec | None, *, allow_non_dp: bool) -> None:
    """Refuse a training request whose privacy settings do not fit its method.

    Raises:
        Invalid: unknown method name form; a DP method without ``privacy`` or with settings
            it would ignore (DP-SGD's for a marginal method); a non-DP method without
            ``allow_non_dp`` or with ``privacy`` (which it would silently ignore).
    """
    if not _METHOD_NAME.match(method):
        raise Invalid(f"invalid method name {method!r}", code="invalid_method")
    if is_dp(method):
        if privacy is None:
            raise Invalid(
                f"method {method!r} is differentially private and needs privacy settings "
                "(at least privacy.epsilon)",
                code="privacy_required",
            )
        problems = privacy_problems(method, privacy)
        if problems:
            raise Invalid("; ".join(problems), code="privacy_not_applicable")
        return
    if privacy is not None:
        raise Invalid(
            f"method {method!r} is not differentially private: privacy settings would be "
            f"ignored; use a DP method such as {DEFAULT_METHOD!r}",
            code="privacy_not_applicable",
        )
    if not allow_non_dp:
        raise Invalid(
            f"method {method!r} gives NO differential-privacy guarantee; pass "
            '"allow_non_dp": true to train it anyway',
            code="non_dp_not_allowed",
        )
