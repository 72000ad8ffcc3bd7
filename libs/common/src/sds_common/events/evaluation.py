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
    """Scores are in [0, 1] unless their name says otherwise; the report holds the detail."""

    event_type = "EvaluationCompleted"
    evaluation_id: UUID
    synthetic_dataset_id: UUID
    generator_id: UUID
    scores: dict[str, float] = Field(default_factory=dict)
    report_key: str
    html_report_key: str


class EvaluationFailed(_EvaluationEvent):
    event_type = "EvaluationFailed"
    evaluation_id: UUID
    synthetic_dataset_id: UUID
    code: str
    message: str
