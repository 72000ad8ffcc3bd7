"""zCDP accounting of the marginal synthesizers: one ledger for the whole release.

Every mechanism of ``aim`` and ``mst`` is charged in zero-concentrated DP (Bun & Steinke 2016),
under add/remove-one-row neighbours:

* the Gaussian mechanism on a histogram or a marginal (L2 sensitivity ``Δ``, noise ``sigma``
  per cell): ``rho = Δ² / (2·sigma²)``;
* the exponential mechanism with quality sensitivity ``Δ`` run as ``P ∝ exp(ε·q / (2Δ))``: it is
  ε-bounded-range, hence ``ε² / 8``-zCDP (Cesar & Rogers 2021);
* the thresholded (stability) histograms of the preprocessing: Gaussian noise, so ``rho`` as
  above, plus a δ₀ (a value held by one row passing its threshold) added to the final δ.

zCDP composes by adding the ``rho`` of every charge, adaptively. The total converts to (ε, δ)
with the tight conversion of Canonne, Kamath & Steinke 2020 (Prop. 12 / Cor. 13)::

    ε(rho, δ) = min over a > 1 of  a·rho + log(1 - 1/a) + (log(1/δ) - log a) / (a - 1)

minimised numerically over the Rényi order ``a`` (a dense grid, refined by golden-section
search). It is never larger than the classic ``rho + 2·√(rho·log(1/δ))``, and it is the formula
Google's ``dp_accounting`` applies to Rényi DP at its fixed orders (our continuous minimum is
at most theirs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Relative slack of the ledger's "never more than the budget" check (float rounding only).
_SLACK = 1e-9


def gaussian_rho(sigma: float, *, sensitivity: float = 1.0) -> float:
    """zCDP of the Gaussian mechanism: ``Δ² / (2·sigma²)``."""
    return sensitivity**2 / (2.0 * sigma**2)


def gaussian_sigma(rho: float, *, sensitivity: float = 1.0) -> float:
    """The noise whose Gaussian mechanism costs exactly ``rho``."""
    return sensitivity / math.sqrt(2.0 * rho)


def exponential_rho(epsilon: float) -> float:
    """zCDP of the exponential mechanism run at ``epsilon`` (ε-bounded range): ``ε² / 8``."""
    return epsilon**2 / 8.0


def exponential_epsilon(rho: float) -> float:
    """The ε of an exponential mechanism that costs exactly ``rho``."""
    return math.sqrt(8.0 * rho)


def _epsilon_at(alpha: np.ndarray, rho: float, log_inv_delta: float) -> np.ndarray:
    return np.asarray(
        alpha * rho + np.log1p(-1.0 / alpha) + (log_inv_delta - np.log(alpha)) / (alpha - 1.0),
        dtype=np.float64,
    )


def zcdp_to_epsilon(rho: float, delta: float) -> float:
    """The smallest ε such that ``rho``-zCDP implies (ε, δ)-DP (tight conversion, see above).

    Args:
        rho: The zCDP parameter (≥ 0).
        delta: The target δ in (0, 1).

    Returns:
        ε ≥ 0 (0 when ``rho`` is 0).
    """
    if not 0.0 < delta < 1.0:
        raise ValueError("delta must be in (0, 1)")
    if rho < 0.0:
        raise ValueError("rho must be ≥ 0")
    if rho == 0.0:
        return 0.0
    log_inv_delta = math.log(1.0 / delta)
    # The optimum lies near 1 + sqrt(log(1/δ)/rho); a wide geometric grid brackets it.
    alphas = 1.0 + np.geomspace(1e-6, 1e8, 2000)
    values = _epsilon_at(alphas, rho, log_inv_delta)
    best = int(np.argmin(values))
    low = math.log(alphas[max(best - 1, 0)] - 1.0)
    high = math.log(alphas[min(best + 1, len(alphas) - 1)] - 1.0)
    ratio = (math.sqrt(5.0) - 1.0) / 2.0

    def f(log_excess: float) -> float:
        return float(_epsilon_at(np.asarray([1.0 + math.exp(log_excess)]), rho, log_inv_delta)[0])

    a, b = low, high
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = f(c), f(d)
    for _ in range(80):
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = f(d)
    return max(min(fc, fd, float(values[best])), 0.0)


def epsilon_to_zcdp(epsilon: float, delta: float) -> float:
    """The largest ``rho`` whose conversion stays at or below (ε, δ) (bisection from below)."""
    if not (math.isfinite(epsilon) and epsilon > 0):
        raise ValueError("epsilon must be positive and finite")
    low, high = 0.0, max(epsilon, 1.0)
    while zcdp_to_epsilon(high, delta) <= epsilon:
        low, high = high, 2.0 * high
    for _ in range(200):
        mid = (low + high) / 2.0
        if zcdp_to_epsilon(mid, delta) <= epsilon:
            low = mid
        else:
            high = mid
        if high - low <= 1e-12 * high:
            break
    return low


class BudgetExceededError(RuntimeError):
    """A charge would take the ledger past its budget (a bug: plans never ask for that)."""


@dataclass(frozen=True)
class Charge:
    """One mechanism run against the data."""

    label: str
    mechanism: str
    rho: float
    delta: float = 0.0
    column: str = ""
    statistic: str = ""


@dataclass
class ZCDPLedger:
    """The zCDP budget of one release and every charge made against it, in order.

    Attributes:
        budget: The ``rho`` the whole release may spend.
        delta: The release's total δ (conversion δ + the thresholds' δ₀).
        threshold_delta: δ₀ reserved for the thresholded histograms (part of ``delta``).
        charges: Every mechanism run so far.
    """

    budget: float
    delta: float
    threshold_delta: float = 0.0
    charges: list[Charge] = field(default_factory=list)

    @property
    def conversion_delta(self) -> float:
        """The δ at which the zCDP total is converted (``delta - threshold_delta``)."""
        return self.delta - self.threshold_delta

    @property
    def spent(self) -> float:
        """``rho`` spent so far."""
        return math.fsum(c.rho for c in self.charges)

    @property
    def remaining(self) -> float:
        """``rho`` left."""
        return max(self.budget - self.spent, 0.0)

    def charge(
        self,
        label: str,
        *,
        mechanism: str,
        rho: float,
        delta: float = 0.0,
        column: str = "",
        statistic: str = "",
    ) -> Charge:
        """Record one mechanism; refuses to go past the budget.

        Raises:
            BudgetExceededError: the charge does not fit in what is left.
        """
        if rho < 0 or delta < 0:
            raise ValueError("a charge is never negative")
        if self.spent + rho > self.budget * (1.0 + _SLACK):
            raise BudgetExceededError(
                f"{label}: rho {rho:.4g} does not fit in the {self.remaining:.4g} left"
            )
        entry = Charge(label, mechanism, rho, delta, column, statistic)
        self.charges.append(entry)
        return entry

    def charge_gaussian(
        self,
        label: str,
        *,
        sigma: float,
        delta: float = 0.0,
        column: str = "",
        statistic: str = "",
    ) -> Charge:
        """Charge a Gaussian mechanism of L2 sensitivity 1 with noise ``sigma``."""
        return self.charge(
            label,
            mechanism="gaussian",
            rho=gaussian_rho(sigma),
            delta=delta,
            column=column,
            statistic=statistic,
        )

    def charge_exponential(self, label: str, *, epsilon: float) -> Charge:
        """Charge an exponential mechanism run at ``epsilon``."""
        return self.charge(label, mechanism="exponential", rho=exponential_rho(epsilon))

    def epsilon(self, rho: float | None = None) -> float:
        """ε at :attr:`conversion_delta` of ``rho`` (default: what was spent)."""
        return zcdp_to_epsilon(self.spent if rho is None else rho, self.conversion_delta)

    def to_state(self) -> dict[str, Any]:
        """Plain-python state, for checkpoints."""
        return {
            "budget": self.budget,
            "delta": self.delta,
            "threshold_delta": self.threshold_delta,
            "charges": [
                [c.label, c.mechanism, c.rho, c.delta, c.column, c.statistic] for c in self.charges
            ],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> ZCDPLedger:
        """Rebuild from :meth:`to_state`."""
        return cls(
            budget=float(state["budget"]),
            delta=float(state["delta"]),
            threshold_delta=float(state["threshold_delta"]),
            charges=[
                Charge(str(a), str(b), float(c), float(d), str(e), str(f))
                for a, b, c, d, e, f in state["charges"]
            ],
        )
