"""Where a score stands between its floor and its ceiling: the verdicts findings and advice share.

Every quality score of an evaluation is read against two references the evaluator measured:
the independent-columns baseline (each column sampled on its own from the real rows: what a
generator learning no relationship scores, the floor a model must clear to add anything) and the
ceiling (a fresh real sample for fidelity, a model trained on real rows for utility). A score at
or below the baseline is never good, however high it looks; a ROC-AUC within the chance band of
0.5, or an R² <= 0, is no utility at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Final, Literal

HIGH: Final = 0.8
MODERATE: Final = 0.6
#: A score within this of the baseline is not above it (two honest samples differ by about this).
BASELINE_MARGIN: Final = 0.01
#: Shares of the baseline-to-ceiling gap a fidelity closes to be high, moderate.
GAP_HIGH: Final = 0.75
GAP_MODERATE: Final = 0.4
#: Shares of the real-data model's lift over chance a synthetic-trained model keeps.
LIFT_GOOD: Final = 0.8
LIFT_FAIR: Final = 0.5
#: The smallest chance band of a ROC-AUC, for reports that carry none.
CHANCE_FLOOR: Final = 0.02

FidelityState = Literal["unknown", "below_baseline", "low", "moderate", "high"]
UtilityState = Literal["no_target", "unmeasured", "chance", "baseline", "poor", "fair", "good"]


def num(mapping: Mapping[str, Any], key: str) -> float | None:
    """A number of a facts mapping, or None."""
    value = mapping.get(key)
    return float(value) if isinstance(value, int | float) else None


def level(score: float) -> Literal["high", "moderate", "low"]:
    """A word for a [0, 1] score when no baseline says more (reports before version 2)."""
    if score >= HIGH:
        return "high"
    if score >= MODERATE:
        return "moderate"
    return "low"


@dataclass(frozen=True)
class FidelityVerdict:
    """Fidelity against the baseline and a fresh real sample.

    Attributes:
        state: "below_baseline" (at or under it), or a level; "unknown" when not computed.
        value: the fidelity.
        baseline: the independent-columns baseline's fidelity, when the report has it.
        ceiling: a fresh real sample's fidelity (the holdout against the training rows).
        closed: the share of the baseline-to-ceiling gap the synthetic table closes.
    """

    state: FidelityState
    value: float | None
    baseline: float | None
    ceiling: float | None
    closed: float | None = None


def fidelity_verdict(scores: Mapping[str, Any]) -> FidelityVerdict:
    """Judge the overall fidelity (see the module docstring)."""
    value, base = num(scores, "fidelity"), num(scores, "baseline_fidelity")
    ceiling = num(scores, "fidelity_reference")
    if value is None:
        return FidelityVerdict("unknown", None, base, ceiling)
    if base is None:
        return FidelityVerdict(level(value), value, None, ceiling)
    if value <= base + BASELINE_MARGIN:
        return FidelityVerdict("below_baseline", value, base, ceiling)
    if ceiling is None or ceiling <= base + BASELINE_MARGIN:
        # Nothing to scale by: above the baseline, but how far short of real data is unknown.
        capped = level(value)
        return FidelityVerdict("moderate" if capped == "high" else capped, value, base, None)
    closed = min(max((value - base) / (ceiling - base), 0.0), 1.0)
    state: FidelityState = (
        "high" if closed >= GAP_HIGH else "moderate" if closed >= GAP_MODERATE else "low"
    )
    return FidelityVerdict(state, value, base, ceiling, closed)


@dataclass(frozen=True)
class UtilityVerdict:
    """A synthetic-trained model against chance, the baseline and a real-trained one.

    Attributes:
        state: "no_target", "unmeasured", "chance", "baseline" (no better than it), or how
            much of the real model's lift it keeps ("poor", "fair", "good").
        metric: "ROC-AUC" or "R²".
        tstr, trtr, baseline: the synthetic-, real- and baseline-trained scores.
        band: the chance band of a ROC-AUC (0 for R²).
        lift: the share of the real-trained model's lift over chance (over 0 for R²) kept.
    """

    state: UtilityState
    metric: str = "ROC-AUC"
    tstr: float | None = None
    trtr: float | None = None
    baseline: float | None = None
    band: float = 0.0
    lift: float | None = None


def utility_verdict(scores: Mapping[str, Any], utility: Mapping[str, Any]) -> UtilityVerdict:
    """Judge ML utility (see the module docstring)."""
    if utility.get("status") == "no_target":
        return UtilityVerdict("no_target")
    regression = num(scores, "utility_tstr_r2") is not None
    short, metric, chance = ("r2", "R²", 0.0) if regression else ("auc", "ROC-AUC", 0.5)
    tstr, trtr = num(scores, f"utility_tstr_{short}"), num(scores, f"utility_trtr_{short}")
    base = num(scores, f"baseline_utility_tstr_{short}")
    if tstr is None:
        return UtilityVerdict("unmeasured", metric)
    band = 0.0 if regression else max(num(utility, "chance_band") or 0.0, CHANCE_FLOOR)
    verdict = UtilityVerdict("fair", metric, tstr, trtr, base, band)
    if tstr - chance <= band:
        return replace(verdict, state="chance")
    if base is not None and tstr <= base + max(band, BASELINE_MARGIN):
        return replace(verdict, state="baseline")
    if trtr is None or trtr <= chance:
        return verdict
    lift = (tstr - chance) / (trtr - chance)
    state: UtilityState = "good" if lift >= LIFT_GOOD else "fair" if lift >= LIFT_FAIR else "poor"
    return replace(verdict, state=state, lift=lift)
