"""Events of the ``llm`` topic, keyed by explanation id."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from sds_common.events import topics
from sds_common.events.base import Event

ExplanationKind = Literal["evaluation", "data_dictionary", "privacy_advice", "pii_hints"]


class _LlmEvent(Event):
    topic = topics.LLM
    key_field = "explanation_id"


class ExplanationRequested(_LlmEvent):
    event_type = "ExplanationRequested"
    explanation_id: UUID
    kind: ExplanationKind
    subject_id: UUID


class ExplanationGenerated(_LlmEvent):
    event_type = "ExplanationGenerated"
    explanation_id: UUID
    kind: ExplanationKind
    subject_id: UUID
    provider: str
    object_key: str
    degraded: bool = False


class ExplanationFailed(_LlmEvent):
    """An explanation will not come: ``message`` says why, in words a user may read."""

    event_type = "ExplanationFailed"
    explanation_id: UUID
    kind: ExplanationKind
    subject_id: UUID
    code: str
    message: str
