"""Privacy policy: which DP requests are acceptable, in words a user can act on.

Pure functions: the trainer checks every request with them before touching any data, and the
gateway's dry run (``POST /api/v1/privacy/validate``) gives the same answers without reserving.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class PolicyLimits:
    """Operator-set limits.

    Attributes:
        epsilon_cap: the most ε one training may ask for (``SDS_TRAINER_EPSILON_CAP``).
        min_rows: the fewest training rows DP training accepts.
    """

    epsilon_cap: float = 5.0
    min_rows: int = 100


@dataclass(frozen=True)
class ResolvedPrivacy:
    """A DP request with its defaults filled in.

    Attributes:
        epsilon: the ε asked for.
        delta: the δ asked for, or the default ``default_delta(n_rows)``.
    """

    epsilon: float
    delta: float


def default_delta(n_rows: int) -> float:
    """δ far below 1/n: 1/n^1.5 (the chance of a catastrophic leak must be negligible per row).

    Args:
        n_rows: training rows of the dataset (values below 2 count as 2).

    Returns:
        The default δ.
    """
    return float(1.0 / max(n_rows, 2) ** 1.5)


def policy_problems(
    *, epsilon: float, delta: float | None, n_rows: int, limits: PolicyLimits
) -> list[str]:
    """Reasons the policy refuses a DP request, whatever budget is left (empty when none).

    Args:
        epsilon: the ε asked for.
        delta: the δ asked for; None takes ``default_delta(n_rows)``.
        n_rows: training rows of the dataset.
        limits: the operator's limits.

    Returns:
        Every reason, in words a user can act on.
    """
    reasons: list[str] = []
    if not math.isfinite(epsilon) or epsilon <= 0:
        reasons.append(f"ε must be a positive number (got {epsilon})")
    elif epsilon > limits.epsilon_cap:
        reasons.append(
            f"ε = {epsilon:g} is above the policy cap of {limits.epsilon_cap:g}; "
            "ask for less, or ask an administrator to raise SDS_TRAINER_EPSILON_CAP"
        )
    if n_rows < limits.min_rows:
        reasons.append(
            f"the dataset has {n_rows} training rows; DP training needs at least {limits.min_rows}"
        )
    if delta is not None and not (math.isfinite(delta) and 0 < delta < 1):
        reasons.append(f"δ must be a number between 0 and 1 (got {delta})")
    elif delta is not None and delta >= 1.0 / max(n_rows, 1):
        reasons.append(
            f"δ = {delta:g} is not far below 1/n = {1.0 / max(n_rows, 1):g}: with δ ≥ 1/n a "
            f"mechanism may publish a whole row; use δ ≤ {default_delta(n_rows):.2g}"
        )
    return reasons


def budget_problem(epsilon: float, remaining_epsilon: float) -> str | None:
    """Why the budget ledger cannot cover ``epsilon`` (None when it can).

    Args:
        epsilon: the ε asked for.
        remaining_epsilon: ε the dataset's budget ledger has left (``math.inf`` when unknown).
    """
    if epsilon > remaining_epsilon + 1e-12:
        return (
            f"the dataset's privacy budget has ε = {max(remaining_epsilon, 0.0):.4g} left, "
            f"less than the ε = {epsilon:g} asked for"
        )
    return None


def check_request(
    *,
    epsilon: float,
    delta: float | None,
    n_rows: int,
    remaining_epsilon: float,
    limits: PolicyLimits,
) -> tuple[ResolvedPrivacy | None, list[str]]:
    """Validate a DP request against the policy and the dataset's remaining budget.

    The budget is checked only when everything else passes, so a refusal names what the user
    must change first.

    Args:
        epsilon: the ε asked for.
        delta: the δ asked for; None takes ``default_delta(n_rows)``.
        n_rows: training rows of the dataset.
        remaining_epsilon: ε the dataset has left (``math.inf`` when unknown).
        limits: the operator's limits.

    Returns:
        The resolved (ε, δ) and an empty list, or None and every reason for refusal.
    """
    reasons = policy_problems(epsilon=epsilon, delta=delta, n_rows=n_rows, limits=limits)
    if not reasons:
        budget = budget_problem(epsilon, remaining_epsilon)
        reasons += [budget] if budget is not None else []
    if reasons:
        return None, reasons
    resolved_delta = default_delta(n_rows) if delta is None else delta
    return ResolvedPrivacy(epsilon=epsilon, delta=resolved_delta), []
