"""An empirical lower bound on epsilon from a membership-inference attack.

If a release is (epsilon, delta)-DP, every test that tries to tell members from non-members obeys
TPR <= exp(epsilon) * FPR + delta, and the same with members and non-members swapped (DP is
symmetric: a table that sits unusually FAR from its training rows leaks membership too). So an
attack that reaches some TPR/FPR pair proves epsilon >= log((TPR - delta) / FPR). Sampling noise
makes a naive estimate optimistic, so the bound here is conservative:

* the threshold is chosen on one half of the attack rows and evaluated on the other half, so the
  choice does not overfit the rows it is measured on;
* TPR is replaced by its Clopper-Pearson lower bound and FPR by its upper bound, each at
  (1 - confidence) / 2, so the bound holds with the stated confidence (union bound).

The bound can only certify what the sample size allows: with n rows per side the largest value it
can reach is about log(n), which ``max_detectable`` reports.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import beta

from sds_evaluator.domain.columns import FloatArray

_MAX_THRESHOLDS = 200


@dataclass(frozen=True)
class EpsilonBound:
    """The result of an empirical epsilon audit.

    Attributes:
        lower_bound: epsilon is at least this, with ``confidence`` (0 = no evidence of leakage).
        point_estimate: log(TPR / FPR) at the chosen threshold without confidence bounds.
        max_detectable: the largest lower bound these sample sizes could ever produce.
        confidence: the probability the bound holds over the sampling of attack rows.
        tpr: rate of the flagged event in the group it was meant to find (evaluation half).
        fpr: rate of the same event in the other group (evaluation half).
        rows_per_side: members (and non-members) in the evaluation half.
    """

    lower_bound: float
    point_estimate: float
    max_detectable: float
    confidence: float
    tpr: float
    fpr: float
    rows_per_side: int


def cp_lower(k: FloatArray, n: int, alpha: float) -> FloatArray:
    """One-sided Clopper-Pearson lower bound of a binomial proportion."""
    k = np.asarray(k, dtype=np.float64)
    out = np.where(k > 0, beta.ppf(alpha, np.maximum(k, 1e-12), n - k + 1), 0.0)
    return np.asarray(out, dtype=np.float64)


def cp_upper(k: FloatArray, n: int, alpha: float) -> FloatArray:
    """One-sided Clopper-Pearson upper bound of a binomial proportion."""
    k = np.asarray(k, dtype=np.float64)
    out = np.where(k < n, beta.ppf(1.0 - alpha, k + 1, np.maximum(n - k, 1e-12)), 1.0)
    return np.asarray(out, dtype=np.float64)


def _log_ratio(num: FloatArray, den: FloatArray) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log(np.maximum(num, 0.0) / den)
    return np.where(np.isfinite(out), out, np.where(num > 0, np.inf, -np.inf))


def _events(
    members: FloatArray, others: FloatArray, thresholds: FloatArray
) -> list[tuple[FloatArray, int, FloatArray, int]]:
    """(hits in group A, size of A, hits in group B, size of B) for the four DP inequalities.

    DP bounds P(event | a record is in) <= e^eps P(event | it is out) + delta and the same with
    in and out swapped, for the event "score >= t" and its complement: four tests per threshold.
    """
    m, o = np.sort(members), np.sort(others)
    n_m, n_o = m.size, o.size
    m_hi = n_m - np.searchsorted(m, thresholds, side="left").astype(np.float64)
    o_hi = n_o - np.searchsorted(o, thresholds, side="left").astype(np.float64)
    m_lo, o_lo = n_m - m_hi, n_o - o_hi
    return [
        (m_hi, n_m, o_hi, n_o),
        (o_lo, n_o, m_lo, n_m),
        (o_hi, n_o, m_hi, n_m),
        (m_lo, n_m, o_lo, n_o),
    ]


def _bounds(
    members: FloatArray, others: FloatArray, thresholds: FloatArray, *, delta: float, alpha: float
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Conservative and point epsilon, and the two rates, per (test, threshold)."""
    events = _events(members, others, thresholds)
    conservative = np.concatenate(
        [
            _log_ratio(cp_lower(a, na, alpha) - delta, cp_upper(b, nb, alpha))
            for a, na, b, nb in events
        ]
    )
    point = np.concatenate(
        [_log_ratio(a / na - delta, np.maximum(b / nb, 1.0 / nb)) for a, na, b, nb in events]
    )
    rate_a = np.concatenate([a / na for a, na, _, _ in events])
    rate_b = np.concatenate([b / nb for _, _, b, nb in events])
    return conservative, point, rate_a, rate_b


def epsilon_lower_bound(
    member_scores: FloatArray,
    non_member_scores: FloatArray,
    *,
    delta: float = 0.0,
    confidence: float = 0.95,
    seed: int = 0,
) -> EpsilonBound:
    """Bound epsilon from below using attack scores (higher score = "more likely a member").

    Args:
        member_scores: scores of rows that were in the training data.
        non_member_scores: scores of rows that were not.
        delta: the delta the release claims (0 if none).
        confidence: probability that the returned bound holds.
        seed: seeds the split into selection and evaluation halves.

    Returns:
        The bound with the rates behind it.
    """
    rng = np.random.default_rng(seed)
    m, o = rng.permutation(member_scores), rng.permutation(non_member_scores)
    m_sel, m_eval = m[: m.size // 2], m[m.size // 2 :]
    o_sel, o_eval = o[: o.size // 2], o[o.size // 2 :]
    alpha = (1.0 - confidence) / 2.0
    n_eval = min(m_eval.size, o_eval.size)
    ceiling = (
        float(
            _log_ratio(
                cp_lower(np.array([n_eval]), n_eval, alpha), cp_upper(np.zeros(1), n_eval, alpha)
            )[0]
        )
        if n_eval
        else 0.0
    )
    if m_sel.size == 0 or o_sel.size == 0 or m_eval.size == 0 or o_eval.size == 0:
        return EpsilonBound(0.0, 0.0, ceiling, confidence, 0.0, 0.0, n_eval)
    pooled = np.concatenate([m_sel, o_sel])
    thresholds = np.unique(np.quantile(pooled, np.linspace(0.0, 1.0, _MAX_THRESHOLDS)))
    thresholds = np.append(thresholds, np.nextafter(thresholds[-1], np.inf))
    sel_cons = _bounds(m_sel, o_sel, thresholds, delta=delta, alpha=alpha)[0]
    side, t = divmod(int(np.argmax(sel_cons)), thresholds.size)
    cons, point, rate_a, rate_b = _bounds(
        m_eval, o_eval, thresholds[t : t + 1], delta=delta, alpha=alpha
    )
    tpr, fpr = float(rate_a[side]), float(rate_b[side])
    lower = float(cons[side])
    return EpsilonBound(
        lower_bound=max(0.0, lower) if np.isfinite(lower) else 0.0,
        point_estimate=max(0.0, float(point[side])) if np.isfinite(point[side]) else 0.0,
        max_detectable=ceiling,
        confidence=confidence,
        tpr=tpr,
        fpr=fpr,
        rows_per_side=n_eval,
    )
