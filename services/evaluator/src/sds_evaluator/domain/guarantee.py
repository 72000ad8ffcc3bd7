"""The formal privacy guarantee the generator claims, explained in plain words."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from sds_evaluator.domain.models import PrivacyGuarantee

_EPSILON_KEYS = ("epsilon", "eps", "target_epsilon", "epsilon_spent")
_DELTA_KEYS = ("delta", "target_delta", "delta_spent")
_MECHANISM_KEYS = ("mechanism", "method", "accountant")
_DP_FLAG_KEYS = ("differentially_private", "dp", "is_dp")

NON_DP_MEANING = (
    "This synthetic data was generated WITHOUT differential privacy. Nothing limits what it may "
    "reveal about the real people in the training data: rare records and unusual combinations can "
    "be reproduced. The empirical checks in this report can reveal some leaks, but passing them is "
    "not protection. Treat this table as sensitive as the original."
)


def _first(privacy: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        if privacy.get(key) is not None:
            return privacy[key]
    return None


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _strength(epsilon: float) -> str:
    if epsilon <= 1.0:
        return "a strong guarantee"
    if epsilon <= 10.0:
        return "a moderate guarantee, common in practice"
    return "a weak guarantee: it limits little in practice"


def dp_meaning(epsilon: float, delta: float | None) -> str:
    """One paragraph that says what (epsilon, delta) promises, for a non-specialist."""
    factor = math.exp(min(epsilon, 700.0))
    delta_part = f", except with a probability of at most δ = {delta:.2g}" if delta else ""
    return (
        f"The generator was trained with differential privacy at ε = {epsilon:.3g}. Whether any "
        "one person's record was in the training data or not, the chance of producing this "
        f"synthetic table (or any other outcome) changes by at most a factor of e^ε ≈ "
        f"{factor:.3g}{delta_part}. So no one can learn much more about an individual from this "
        "data than they could have learnt without that individual's record. This holds against "
        f"every attacker, whatever else they know. Smaller ε is stronger; ε = {epsilon:.3g} is "
        f"{_strength(epsilon)}."
    )


def privacy_guarantee(privacy: Mapping[str, Any] | None) -> PrivacyGuarantee:
    """Read the generator's DP facts (epsilon, delta, mechanism, ...) into the report's form.

    Args:
        privacy: what the trainer recorded; None or a mapping without a finite epsilon (or with
            ``differentially_private`` false) means the generator is not DP.

    Returns:
        The guarantee with its plain-words meaning.
    """
    privacy = privacy or {}
    epsilon = _number(_first(privacy, _EPSILON_KEYS))
    delta = _number(_first(privacy, _DELTA_KEYS))
    flag = _first(privacy, _DP_FLAG_KEYS)
    mechanism = _first(privacy, _MECHANISM_KEYS)
    used = set(_EPSILON_KEYS + _DELTA_KEYS + _MECHANISM_KEYS + _DP_FLAG_KEYS)
    details = {
        str(k): str(v)
        for k, v in privacy.items()
        if k not in used and isinstance(v, str | int | float | bool)
    }
    is_dp = epsilon is not None and epsilon >= 0 and flag is not False
    return PrivacyGuarantee(
        differentially_private=is_dp,
        epsilon=epsilon if is_dp else None,
        delta=delta if is_dp else None,
        mechanism=str(mechanism) if mechanism is not None else None,
        details=details,
        meaning=dp_meaning(epsilon, delta) if is_dp and epsilon is not None else NON_DP_MEANING,
    )
