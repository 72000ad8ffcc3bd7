"""Events of the ``evaluation`` topic, keyed by evaluation id."""

from __future__ import annotations

from uuid import UUID

from pydantic import Field

from sds_common.events import topics
from sds_common.events.base import Event


class _EvaluationEvent(Event):
    topic = topics.EVALUATION
    key_field = "evaluation_id"


class EvaluationRequested(_EvaluationEvent):
    event_type = "EvaluationRequested"
    evaluation_id: UUID
    synthetic_dataset_id: UUID
    target_column: str | None = None


class EvaluationCompleted(_EvaluationEvent):
    """Scores are in [0, 1] unless their name says otherwise; the report holds the detail.

    A key is absent when its metric was not computed (no ``utility_*`` key when no target was
    declared). New keys are additive: a consumer reads the keys it knows.
    """

    event_type = "EvaluationCompleted"
    evaluation_id: UUID
    synthetic_dataset_id: UUID
    generator_id: UUID
    scores: dict[str, float] = Field(
        default_factory=dict,
        description=(
            "headline numbers: validity (the worst column's share of valid cells) and "
            "validity_flagged_columns (a count); fidelity, column_shapes, column_pairs, "
            "fidelity_reference (real holdout vs real training rows: the ceiling); "
            "utility_tstr_auc / utility_trtr_auc or utility_tstr_r2 / utility_trtr_r2 and "
            "utility_ratio (declared target only); baseline_<score> for fidelity, column_shapes, "
            "column_pairs, utility_tstr_auc, utility_tstr_r2 and utility_ratio (the same score "
            "of the independent-columns baseline); dcr_share, exact_copies, mia_auc, "
            "mia_epsilon_lower_bound, attribute_inference_advantage"
        ),
    )
    report_key: str
    html_report_key: str


class EvaluationFailed(_EvaluationEvent):
    event_type = "EvaluationFailed"
    evaluation_id: UUID
    synthetic_dataset_id: UUID
    code: str
    message: str
