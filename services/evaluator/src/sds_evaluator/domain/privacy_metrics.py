"""Privacy-risk numbers as report metrics, each with its meaning in plain words."""

from __future__ import annotations

from collections.abc import Sequence

from sds_evaluator.domain.empirical_dp import EpsilonBound
from sds_evaluator.domain.models import AttributeInference, Metric


def risk_metrics(
    *,
    dcr_share: float,
    dcr_p5: float,
    dcr_p5_reference: float,
    nndr_p5: float,
    nndr_p5_reference: float,
    exact_copies: int,
    synthetic_rows: int,
    holdout_duplicates: int,
    holdout_rows: int,
    mia_auc: float,
    epsilon: EpsilonBound,
    inference: Sequence[AttributeInference],
) -> list[Metric]:
    """Build the privacy-risk metrics from the raw check results."""
    holdout_rate = holdout_duplicates / holdout_rows if holdout_rows else 0.0
    metrics = [
        Metric(
            key="dcr_share",
            label="Closer-to-training share (DCR)",
            value=dcr_share,
            direction="target",
            target=0.5,
            meaning="For each synthetic row we find its closest real training row and its closest "
            "real row the generator never saw. This is the share of synthetic rows closer to a "
            "training row. About 0.5: no sign of memorisation. Near 1: the generator copies or "
            "nearly copies the people it was trained on.",
        ),
        Metric(
            key="exact_copies",
            label="Exact copies of training rows",
            value=float(exact_copies),
            direction="lower",
            meaning="Synthetic rows identical, in every column, to some training row. Some are "
            "expected by chance in tables with few, coarse columns; compare with the reference "
            "in the note.",
            note=f"{exact_copies / synthetic_rows:.2%} of synthetic rows. Reference: "
            f"{holdout_rate:.2%} of unseen real rows also appear in the training rows.",
        ),
        Metric(
            key="dcr_5th_percentile",
            label="Distance to closest record, 5th percentile",
            value=dcr_p5,
            direction="higher",
            meaning="How close the closest 5% of synthetic rows come to a training row (0 = "
            "identical). Should not be much smaller than the reference: how close unseen real "
            "rows come to training rows.",
            note=f"Reference (unseen real rows): {dcr_p5_reference:.4g}.",
        ),
        Metric(
            key="nndr_5th_percentile",
            label="Nearest-neighbour distance ratio, 5th percentile",
            value=nndr_p5,
            direction="higher",
            meaning="Distance to the closest training row divided by distance to the second "
            "closest. Small values mean a synthetic row sits right next to one particular person "
            "rather than among several, which is what a leaked outlier looks like.",
            note=f"Reference (unseen real rows): {nndr_p5_reference:.4g}.",
        ),
        Metric(
            key="mia_auc",
            label="Membership-inference attack AUC",
            value=mia_auc,
            direction="target",
            target=0.5,
            meaning="An attacker guesses whether a real person was in the training data from how "
            "close the synthetic data comes to them. 0.5: the attacker does no better than a coin "
            "flip; 1: the attacker can tell exactly who was in the training data.",
        ),
        Metric(
            key="mia_epsilon_lower_bound",
            label="Empirical epsilon, lower bound",
            value=epsilon.lower_bound,
            direction="lower",
            meaning=f"The privacy loss this attack proves, with {epsilon.confidence:.0%} "
            "confidence: the true epsilon is at least this. 0 means the attack found no "
            "evidence of leakage. It is a lower bound from one attack, never a guarantee; a "
            "claimed epsilon below this number would be contradicted by the data.",
            note=f"Point estimate {epsilon.point_estimate:.3g} (TPR {epsilon.tpr:.3f}, FPR "
            f"{epsilon.fpr:.3f}); with {epsilon.rows_per_side:,} rows per side this test cannot "
            f"show more than {epsilon.max_detectable:.2f}. Rows are treated as independent "
            "trials, which a single training run only approximates.",
        ),
    ]
    if inference:
        worst = max(inference, key=lambda a: a.member_advantage)
        metrics.append(
            Metric(
                key="attribute_inference_advantage",
                label="Attribute inference, member advantage",
                value=worst.member_advantage,
                direction="lower",
                meaning="An attacker who knows everything about a person except one sensitive "
                "column guesses it from the most similar synthetic row. This is how much more "
                "often the guess is right for people in the training data than for people who "
                "were not (about 0: the synthetic data teaches population patterns, not facts "
                "about individuals).",
                note=f"Worst column: '{worst.column}' (right {worst.accuracy_on_members:.1%} "
                f"for training rows, {worst.accuracy_on_non_members:.1%} for unseen rows, "
                f"{worst.baseline_accuracy:.1%} by always guessing the most common value).",
            )
        )
    return metrics
