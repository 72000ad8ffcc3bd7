"""The formal privacy guarantee the generator claims, explained in plain words.

The generator's facts come from the trainer: ε, δ and method from ``ModelTrained``, and the
accountant's parameters (noise multiplier, sampling rate, steps, clipping norm, the ε split
between preprocessing and training) from the trainer's privacy report under ``"report"``. The
wording is shared with the audit service's privacy report (``sds_common.privacy.explain``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

from sds_common.privacy.explain import (
    NON_DP_MEANING,
    DpParameters,
    dp_meaning,
    explain_parameters,
    mechanism_of,
)
from sds_evaluator.domain.models import GuaranteeParameter, PrivacyGuarantee

_EPSILON_KEYS = ("epsilon", "eps", "target_epsilon", "epsilon_spent")
_DELTA_KEYS = ("delta", "target_delta", "delta_spent")
_MECHANISM_KEYS = ("mechanism", "method", "accountant")
_DP_FLAG_KEYS = ("differentially_private", "dp", "is_dp")
#: The accountant's parameters, read from the top level or from the trainer's report.
_PARAMETER_KEYS: Final = (
    "accountant",
    "preprocessing_epsilon",
    "training_epsilon",
    "noise_multiplier",
    "sample_rate",
    "steps",
    "epochs",
    "max_grad_norm",
    "batch_size",
)
_INTEGER_KEYS: Final = frozenset({"steps", "epochs", "batch_size"})

__all__ = ["NON_DP_MEANING", "dp_meaning", "privacy_guarantee"]


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


def _parameters(privacy: Mapping[str, Any], *, epsilon: float, delta: float | None) -> DpParameters:
    """The accountant's parameters: top-level keys first, then the trainer's report."""
    report = privacy.get("report")
    sources = [privacy, report] if isinstance(report, Mapping) else [privacy]
    found: dict[str, Any] = {}
    for key in _PARAMETER_KEYS:
        value = next((s[key] for s in sources if s.get(key) is not None), None)
        if key == "accountant":
            found[key] = str(value) if value is not None else None
            continue
        number = _number(value)
        if number is not None and key in _INTEGER_KEYS:
            found[key] = int(number)
        else:
            found[key] = number
    described = privacy.get("mechanism")
    mechanism = (
        described
        if isinstance(described, str) and described
        else mechanism_of(
            noise_multiplier=found["noise_multiplier"],
            steps=found["steps"],
            preprocessing_epsilon=found["preprocessing_epsilon"],
        )
    )
    return DpParameters(mechanism=mechanism, epsilon=epsilon, delta=delta, **found)


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
    used = set(_EPSILON_KEYS + _DELTA_KEYS + _MECHANISM_KEYS + _DP_FLAG_KEYS + _PARAMETER_KEYS)
    details = {
        str(k): str(v)
        for k, v in privacy.items()
        if k not in used and isinstance(v, str | int | float | bool)
    }
    is_dp = epsilon is not None and epsilon >= 0 and flag is not False
    if not is_dp or epsilon is None:
        return PrivacyGuarantee(
            differentially_private=False,
            mechanism=str(mechanism) if mechanism is not None else None,
            details=details,
            meaning=NON_DP_MEANING,
        )
    parameters = _parameters(privacy, epsilon=epsilon, delta=delta)
    return PrivacyGuarantee(
        differentially_private=True,
        epsilon=epsilon,
        delta=delta,
        mechanism=str(mechanism) if mechanism is not None else None,
        details=details,
        meaning=dp_meaning(epsilon, delta),
        accountant=parameters.accountant,
        preprocessing_epsilon=parameters.preprocessing_epsilon,
        training_epsilon=parameters.training_epsilon,
        noise_multiplier=parameters.noise_multiplier,
        sample_rate=parameters.sample_rate,
        steps=parameters.steps,
        epochs=parameters.epochs,
        max_grad_norm=parameters.max_grad_norm,
        batch_size=parameters.batch_size,
        explained=[
            GuaranteeParameter(key=p.key, label=p.label, value=p.value, meaning=p.meaning)
            for p in explain_parameters(parameters)
        ],
    )
