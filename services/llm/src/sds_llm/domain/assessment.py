"""Reads the numbers of an evaluation against thresholds: findings and concrete recommendations.

Pure rules over redacted facts (see :mod:`sds_llm.domain.redaction`); the same findings go to a
provider as facts and make up the offline provider's text, so an explanation never loses them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from sds_llm.domain.models import Finding

HIGH: Final = 0.8
MODERATE: Final = 0.6
PAIR_GAP: Final = 0.08
UTILITY_GOOD: Final = 0.9
UTILITY_FAIR: Final = 0.75
MIA_RISK: Final = 0.6
DCR_RISK: Final = 0.6
EPS_STRONG: Final = 1.0
EPS_MODERATE: Final = 10.0
SMALL_TABLE: Final = 2_000
WEAK_COLUMN: Final = 0.7


@dataclass(frozen=True)
class Assessment:
    """What the numbers say: a headline, findings and recommendations."""

    headline: str
    findings: list[Finding]
    recommendations: list[str]


def level(score: float) -> str:
    """A word for a [0, 1] quality score."""
    if score >= HIGH:
        return "high"
    if score >= MODERATE:
        return "moderate"
    return "low"


def kept(score: float) -> str:
    """How well something is kept, in words."""
    if score >= 0.85:
        return "very well"
    if score >= 0.7:
        return "well"
    if score >= 0.5:
        return "only partly"
    return "poorly"


def _num(mapping: Mapping[str, Any], key: str) -> float | None:
    value = mapping.get(key)
    return float(value) if isinstance(value, int | float) else None


def _severity(score: float) -> Any:
    return {"high": "good", "moderate": "fair", "low": "poor"}[level(score)]


def _fidelity(scores: Mapping[str, Any], facts: Mapping[str, Any]) -> tuple[str, list[Finding]]:
    fidelity, shapes, pairs = (
        _num(scores, k) for k in ("fidelity", "column_shapes", "column_pairs")
    )
    if fidelity is None:
        return "Fidelity could not be computed.", []
    headline = f"Fidelity {fidelity:.2f} is {level(fidelity)}"
    if shapes is not None and pairs is not None:
        joint = "and" if (shapes >= 0.7) == (pairs >= 0.7) else "but"
        less = "less so" if pairs < shapes else "even better"
        second = f"pairwise relationships {kept(pairs)} ({pairs:.2f})"
        if joint == "but":
            second = f"pairwise relationships {less} ({pairs:.2f})"
        headline += f": column shapes are kept {kept(shapes)} ({shapes:.2f}) {joint} {second}"
    findings = [Finding(topic="fidelity", severity=_severity(fidelity), text=headline + ".")]
    reference = _num(scores, "fidelity_reference")
    if reference is not None:
        findings.append(
            Finding(
                topic="fidelity",
                severity="info",
                text=(
                    f"A second real sample scores {reference:.2f} against the training rows, the "
                    f"practical ceiling; the synthetic data is {max(reference - fidelity, 0):.2f} "
                    "below it."
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


def _utility(scores: Mapping[str, Any], facts: Mapping[str, Any]) -> list[Finding]:
    ratio = _num(scores, "utility_ratio")
    if ratio is None:
        return [Finding(topic="utility", severity="info", text="ML utility was not measured.")]
    target = facts.get("utility", {}).get("target") or "the target"
    tstr = _num(scores, "utility_tstr_auc") or _num(scores, "utility_tstr_r2")
    trtr = _num(scores, "utility_trtr_auc") or _num(scores, "utility_trtr_r2")
    detail = f" ({tstr:.2f} vs {trtr:.2f} on real data)" if tstr is not None and trtr else ""
    word = "good" if ratio >= UTILITY_GOOD else "fair" if ratio >= UTILITY_FAIR else "poor"
    text = (
        f"A model trained on synthetic data and tested on real rows predicts {target} with "
        f"{ratio:.0%} of the quality of one trained on real data{detail}: {word} utility."
    )
    return [Finding(topic="utility", severity=word, text=text)]


def _risk(scores: Mapping[str, Any]) -> list[Finding]:
    findings: list[Finding] = []
    mia = _num(scores, "mia_auc")
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
    copies = _num(scores, "exact_copies")
    if copies is not None and copies > 0:
        findings.append(
            Finding(
                topic="privacy",
                severity="poor",
                text=f"{copies:.1%} of synthetic rows are exact copies of real training rows.",
            )
        )
    dcr = _num(scores, "dcr_share")
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
    epsilon = _num(guarantee, "epsilon")
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
    delta = _num(guarantee, "delta")
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
    bound = _num(scores, "mia_epsilon_lower_bound")
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


def _recommendations(facts: Mapping[str, Any]) -> list[str]:
    scores: Mapping[str, Any] = facts.get("scores", {})
    guarantee: Mapping[str, Any] = facts.get("guarantee", {})
    fidelity = _num(scores, "fidelity")
    shapes, pairs = _num(scores, "column_shapes"), _num(scores, "column_pairs")
    epsilon = _num(guarantee, "epsilon")
    dp = bool(guarantee.get("differentially_private")) and epsilon is not None
    recs: list[str] = []
    risky = (_num(scores, "mia_auc") or 0.5) > MIA_RISK or (_num(scores, "exact_copies") or 0) > 0
    if not dp:
        recs.append(
            "Retrain with differential privacy (for example ε = 3, δ below 1/n) before sharing: "
            "without it nothing bounds what the table reveals."
        )
    elif risky:
        recs.append(
            f"Do not release yet: lower ε (now {epsilon:g}) or add data before retraining, since "
            "the empirical attacks found a leak."
        )
    elif (
        fidelity is not None and fidelity < HIGH and epsilon is not None and epsilon < EPS_MODERATE
    ):
        recs.append(
            f"Raise ε from {epsilon:g} to about {min(epsilon * 2, EPS_MODERATE):g} if the "
            "dataset's privacy budget allows: less noise usually improves fidelity."
        )
    weak_categorical = [
        c["name"]
        for c in facts.get("worst_columns", [])
        if c.get("kind") in ("categorical", "boolean") and c.get("score", 1.0) < WEAK_COLUMN
    ]
    if weak_categorical or (dp and facts.get("n_categorical", 0) and (shapes or 1.0) < HIGH):
        named = ", ".join(weak_categorical) if weak_categorical else "the categorical columns"
        recs.append(
            f"Declare public metadata (the known category sets) for {named}: otherwise part of ε "
            "goes to learning categories and rare ones are dropped."
        )
    if shapes is not None and pairs is not None and shapes - pairs > PAIR_GAP:
        recs.append(
            "Train for more epochs (or with larger batches) so the generator learns the "
            f"relationships between columns: pairs ({pairs:.2f}) trail shapes ({shapes:.2f})."
        )
    ratio = _num(scores, "utility_ratio")
    if ratio is not None and ratio < UTILITY_FAIR:
        target = facts.get("utility", {}).get("target") or "the target"
        recs.append(
            f"For ML use, check that {target} and its strongest predictors are among the "
            "well-kept columns, or generate conditionally on it."
        )
    train_rows = facts.get("rows", {}).get("real_train")
    if dp and isinstance(train_rows, int) and train_rows < SMALL_TABLE:
        recs.append(
            f"The table has only {train_rows} training rows; DP noise weighs heavily on small "
            "tables, so more rows help more than tuning."
        )
    if not recs:
        recs.append(
            "No change needed: the synthetic data is faithful and the checks found no leak."
        )
    return recs


def assess(facts: Mapping[str, Any]) -> Assessment:
    """Findings and recommendations for the facts of one evaluation."""
    scores: Mapping[str, Any] = facts.get("scores", {})
    headline, findings = _fidelity(scores, facts)
    findings += _utility(scores, facts)
    findings += _risk(scores)
    findings += _guarantee(facts.get("guarantee", {}), scores)
    return Assessment(headline=headline, findings=findings, recommendations=_recommendations(facts))
