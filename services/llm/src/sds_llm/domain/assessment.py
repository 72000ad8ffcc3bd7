"""Reads the numbers of an evaluation: findings, a headline and recommendations.

Pure rules over redacted facts (see :mod:`sds_llm.domain.redaction`); the same findings go to a
provider as facts and make up the offline provider's text, so an explanation never loses them.
Broken columns (validity) come first; every quality score is judged against the
independent-columns baseline and the ceiling (:mod:`sds_llm.domain.judgement`), so a run below
the baseline is never called good and a model at chance is called no utility; recommendations
(:mod:`sds_llm.domain.recommendations`) name only settings of the method used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from sds_llm.domain.judgement import (
    FidelityVerdict,
    UtilityVerdict,
    fidelity_verdict,
    num,
    utility_verdict,
)
from sds_llm.domain.models import Finding, Severity
from sds_llm.domain.recommendations import recommendations

MIA_RISK: Final = 0.6
DCR_RISK: Final = 0.6
EPS_STRONG: Final = 1.0
EPS_MODERATE: Final = 10.0
WEAK_COLUMN: Final = 0.7
VALIDITY_GOOD: Final = 0.99
#: The evaluator's validity checks, as a data owner reads them.
CHECK_WORDS: Final = {
    "absent": "missing from the table",
    "empty": "came back empty",
    "out_of_range": "values outside the real range",
    "missing_excess": "missing values the real column does not have",
    "unknown_categories": "categories the real column does not have",
    "categories_lost": "most real categories lost",
    "dtype": "another data type",
    "representation": "values not written as the real ones",
    "not_unique": "repeated identifiers",
    "id_shape": "identifiers unlike the real ones",
}


@dataclass(frozen=True)
class Assessment:
    """What the numbers say: a headline, findings and recommendations."""

    headline: str
    findings: list[Finding]
    recommendations: list[str]


def kept(score: float) -> str:
    """How well something is kept, in words."""
    if score >= 0.85:
        return "very well"
    if score >= 0.7:
        return "well"
    if score >= 0.5:
        return "only partly"
    return "poorly"


def flagged_columns(facts: Mapping[str, Any]) -> dict[str, list[str]]:
    """Column -> the checks it failed, in report order."""
    found: dict[str, list[str]] = {}
    for flag in facts.get("validity_flags", []):
        if isinstance(flag, Mapping) and flag.get("check") in CHECK_WORDS:
            found.setdefault(str(flag.get("column", "")), []).append(str(flag["check"]))
    return found


def _validity(scores: Mapping[str, Any], facts: Mapping[str, Any]) -> tuple[str, list[Finding]]:
    validity = num(scores, "validity")
    flagged = flagged_columns(facts)
    if not flagged:
        if validity is None:
            return "", []
        good = validity >= VALIDITY_GOOD
        text = (
            f"Validity {validity:.2f}: every column holds values a real column could hold."
            if good
            else f"Validity {validity:.2f}: some cells hold values no real column holds."
        )
        return "", [Finding(topic="validity", severity="good" if good else "fair", text=text)]
    n = len(flagged)
    listed = "; ".join(
        f"{column} ({', '.join(CHECK_WORDS[c] for c in checks)})"
        for column, checks in flagged.items()
    )
    headline = f"{n} column{'s are' if n != 1 else ' is'} invalid: {listed}"
    detail = (
        f" Validity is {validity:.2f}, the most broken column's share of valid cells"
        if validity is not None
        else ""
    )
    text = (
        f"{headline}.{detail}. The fidelity score averages over columns and does not show this: "
        "read it beside validity."
    )
    return headline, [Finding(topic="validity", severity="poor", text=text)]


def _shape_detail(scores: Mapping[str, Any], verdict: FidelityVerdict) -> str:
    shapes, pairs = num(scores, "column_shapes"), num(scores, "column_pairs")
    if shapes is None or pairs is None:
        return ""
    base_shapes, base_pairs = (
        num(scores, "baseline_column_shapes"),
        num(scores, "baseline_column_pairs"),
    )
    if verdict.baseline is None or base_shapes is None or base_pairs is None:
        # Reports before the baseline: the words of old, which an absolute scale allowed.
        joint = "and" if (shapes >= 0.7) == (pairs >= 0.7) else "but"
        less = "less so" if pairs < shapes else "even better"
        second = f"pairwise relationships {kept(pairs)} ({pairs:.2f})"
        if joint == "but":
            second = f"pairwise relationships {less} ({pairs:.2f})"
        return f": column shapes are kept {kept(shapes)} ({shapes:.2f}) {joint} {second}"
    return (
        f"; column shapes {shapes:.2f} (baseline {base_shapes:.2f}), relationships between "
        f"columns {pairs:.2f} (baseline {base_pairs:.2f}, which keeps none)"
    )


def _fidelity_headline(verdict: FidelityVerdict) -> str:
    value, base, ceiling = verdict.value, verdict.baseline, verdict.ceiling
    assert value is not None
    if base is None:
        return f"Fidelity {value:.2f} is {verdict.state}"
    if verdict.state == "below_baseline":
        where = "below" if value < base else "at"
        return (
            f"Fidelity {value:.2f} is {where} the independent-columns baseline ({base:.2f}): "
            "the model adds nothing over sampling each column on its own"
        )
    if verdict.closed is None or ceiling is None:
        return (
            f"Fidelity {value:.2f} is {verdict.state}: {value - base:.2f} above the "
            f"independent-columns baseline ({base:.2f})"
        )
    return (
        f"Fidelity {value:.2f} is {verdict.state}: it closes {verdict.closed:.0%} of the gap "
        f"between the independent-columns baseline ({base:.2f}) and a fresh real sample "
        f"({ceiling:.2f})"
    )


_SEVERITY: Final[dict[str, Severity]] = {
    "high": "good",
    "moderate": "fair",
    "low": "poor",
    "below_baseline": "poor",
}


def _fidelity(scores: Mapping[str, Any], facts: Mapping[str, Any]) -> tuple[str, list[Finding]]:
    verdict = fidelity_verdict(scores)
    if verdict.value is None:
        return "Fidelity could not be computed.", []
    headline = _fidelity_headline(verdict) + _shape_detail(scores, verdict)
    severity = _SEVERITY[verdict.state]
    findings = [Finding(topic="fidelity", severity=severity, text=headline + ".")]
    if verdict.ceiling is not None and verdict.baseline is None:
        findings.append(
            Finding(
                topic="fidelity",
                severity="info",
                text=(
                    f"A second real sample scores {verdict.ceiling:.2f} against the training "
                    "rows, the practical ceiling; the synthetic data is "
                    f"{max(verdict.ceiling - verdict.value, 0):.2f} below it."
                ),
            )
        )
    weak = [c for c in facts.get("worst_columns", []) if c.get("score", 1.0) < WEAK_COLUMN]
    if weak:
        listed = ", ".join(f"{c['name']} ({c['score']:.2f})" for c in weak)
        findings.append(
            Finding(topic="fidelity", severity="poor", text=f"Least well kept columns: {listed}.")
        )
    return headline, findings


def _utility_text(verdict: UtilityVerdict, target: str) -> str:
    tstr, trtr, base, metric = verdict.tstr, verdict.trtr, verdict.baseline, verdict.metric
    assert tstr is not None
    real = f"; {trtr:.2f} trained on real data" if trtr is not None else ""
    lead = f"A model trained on synthetic data and tested on real rows predicts {target}"
    if verdict.state == "chance":
        if metric == "R²":
            return (
                f"{lead} no better than its average (R² {tstr:.2f}{real}): no utility for "
                "this target."
            )
        return (
            f"{lead} at chance ({metric} {tstr:.2f}, within ±{verdict.band:.2f} of 0.5{real}): "
            "no utility for this target."
        )
    if verdict.state == "baseline":
        assert base is not None
        versus = f", against {trtr:.2f} trained on real data" if trtr is not None else ""
        return (
            f"{lead} with {metric} {tstr:.2f}, no better than the independent-columns baseline "
            f"({base:.2f}){versus}: the synthetic rows carry no relationship to {target} a model "
            "can use, so no utility beyond its distribution."
        )
    against = f" against {trtr:.2f} trained on real data" if trtr is not None else ""
    floor = f" and {base:.2f} for the independent-columns baseline" if base is not None else ""
    kept_text = ""
    if verdict.lift is not None:
        over = "over chance" if metric == "ROC-AUC" else "over the average"
        kept_text = f": it keeps {verdict.lift:.0%} of the real-data model's lift {over}"
    return f"{lead} with {metric} {tstr:.2f}{against}{floor}{kept_text}: {verdict.state} utility."


_UTILITY_SEVERITY: Final[dict[str, Severity]] = {
    "chance": "poor",
    "baseline": "poor",
    "poor": "poor",
    "fair": "fair",
    "good": "good",
}


def _utility(scores: Mapping[str, Any], facts: Mapping[str, Any]) -> list[Finding]:
    utility = facts.get("utility", {})
    verdict = utility_verdict(scores, utility)
    if verdict.state == "no_target":
        text = (
            "No target column was declared, so ML utility was not measured: declare the column "
            "a model should predict to measure it."
        )
        return [Finding(topic="utility", severity="info", text=text)]
    if verdict.state == "unmeasured":
        return [Finding(topic="utility", severity="info", text="ML utility was not measured.")]
    target = utility.get("target") or "the target"
    severity: Severity = _UTILITY_SEVERITY[verdict.state]
    return [Finding(topic="utility", severity=severity, text=_utility_text(verdict, target))]


def _risk(scores: Mapping[str, Any]) -> list[Finding]:
    findings: list[Finding] = []
    mia = num(scores, "mia_auc")
    if mia is not None:
        risky = mia > MIA_RISK
        findings.append(
            Finding(
                topic="privacy",
                severity="poor" if risky else "good",
                text=(
                    f"Membership inference AUC {mia:.2f} "
                    + (
                        "is well above 0.5: an attacker can partly tell who was in the training "
                        "data."
                        if risky
                        else "is close to 0.5 (guessing): training records are not singled out."
                    )
                ),
            )
        )
    copies = num(scores, "exact_copies")
    if copies is not None and copies > 0:
        findings.append(
            Finding(
                topic="privacy",
                severity="poor",
                text=f"{copies:.1%} of synthetic rows are exact copies of real training rows.",
            )
        )
    dcr = num(scores, "dcr_share")
    if dcr is not None:
        near = dcr > DCR_RISK
        findings.append(
            Finding(
                topic="privacy",
                severity="poor" if near else "good",
                text=(
                    f"{dcr:.0%} of synthetic rows lie closer to a training row than to a holdout "
                    "row (50% is ideal)"
                    + (": the generator may have memorised records." if near else ".")
                ),
            )
        )
    return findings


def _guarantee(guarantee: Mapping[str, Any], scores: Mapping[str, Any]) -> list[Finding]:
    epsilon = num(guarantee, "epsilon")
    if not guarantee.get("differentially_private") or epsilon is None:
        return [
            Finding(
                topic="guarantee",
                severity="poor",
                text=(
                    "No differential-privacy guarantee: treat this table as sensitive as the "
                    "real one."
                ),
            )
        ]
    strength = (
        "strong" if epsilon <= EPS_STRONG else "moderate" if epsilon <= EPS_MODERATE else "weak"
    )
    delta = num(guarantee, "delta")
    delta_text = f", δ = {delta:.1e}" if delta else ""
    findings = [
        Finding(
            topic="guarantee",
            severity="good" if strength != "weak" else "fair",
            text=(
                f"Trained with differential privacy at ε = {epsilon:g}{delta_text}: a {strength} "
                "guarantee."
            ),
        )
    ]
    bound = num(scores, "mia_epsilon_lower_bound")
    if bound is not None and bound > epsilon:
        findings.append(
            Finding(
                topic="guarantee",
                severity="poor",
                text=(
                    f"The measured lower bound ε ≥ {bound:.2f} exceeds the claimed "
                    f"ε = {epsilon:g}: the claim is contradicted; check the training configuration."
                ),
            )
        )
    return findings


def assess(facts: Mapping[str, Any]) -> Assessment:
    """Findings and recommendations for the facts of one evaluation; broken columns first."""
    scores: Mapping[str, Any] = facts.get("scores", {})
    broken, validity = _validity(scores, facts)
    fidelity_headline, fidelity = _fidelity(scores, facts)
    # Broken columns lead; a clean bill of validity follows the fidelity it qualifies.
    findings = validity + fidelity if broken else fidelity + validity
    findings += _utility(scores, facts)
    findings += _risk(scores)
    findings += _guarantee(facts.get("guarantee", {}), scores)
    return Assessment(
        headline=broken or fidelity_headline,
        findings=findings,
        recommendations=recommendations(facts),
    )
