"""Events of the ``training`` topic, keyed by generator id (one trained model's life)."""

from __future__ import annotations

from uuid import UUID

from pydantic import Field, JsonValue

from sds_common.events import topics
from sds_common.events.base import Event
from sds_common.events.privacy import PrivacySpec


class _GeneratorEvent(Event):
    topic = topics.TRAINING
    key_field = "generator_id"


class TrainingRequested(_GeneratorEvent):
    """A user asked for a generator; ``privacy`` is None only for explicitly non-DP methods."""

    event_type = "TrainingRequested"
    generator_id: UUID
    dataset_id: UUID
    method: str
    params: dict[str, JsonValue] = Field(default_factory=dict)
    privacy: PrivacySpec | None = None
    public_metadata_version: int | None = Field(
        default=None,
        ge=1,
        description=(
            "the dataset's declared public metadata in force when the training was requested "
            "(PublicMetadataDeclared.declaration_version); None: none declared. Producers "
            "before it existed leave it out"
        ),
    )


class TrainingStarted(_GeneratorEvent):
    event_type = "TrainingStarted"
    generator_id: UUID
    dataset_id: UUID
    device: str
    resumed_from_epoch: int = 0


class TrainingProgress(_GeneratorEvent):
    """Per-epoch progress; ``epsilon_spent`` is the accountant's running total."""

    event_type = "TrainingProgress"
    generator_id: UUID
    epoch: int = Field(ge=0)
    total_epochs: int = Field(ge=1)
    epsilon_spent: float | None = None
    losses: dict[str, float] = Field(default_factory=dict)


class ModelTrained(_GeneratorEvent):
    event_type = "ModelTrained"
    generator_id: UUID
    dataset_id: UUID
    model_key: str
    method: str
    epsilon: float | None
    delta: float | None
    epochs: int = Field(ge=0)
    duration_s: float = Field(ge=0.0)
    privacy_report_key: str | None = None


class TrainingFailed(_GeneratorEvent):
    event_type = "TrainingFailed"
    generator_id: UUID
    dataset_id: UUID
    code: str
    message: str


class TrainingCancelRequested(_GeneratorEvent):
    event_type = "TrainingCancelRequested"
    generator_id: UUID


class TrainingCancelled(_GeneratorEvent):
    event_type = "TrainingCancelled"
    generator_id: UUID
    dataset_id: UUID


class GenerationRequested(_GeneratorEvent):
    event_type = "GenerationRequested"
    generator_id: UUID
    synthetic_dataset_id: UUID
    rows: int = Field(ge=1, le=10_000_000)
    seed: int | None = None
    conditions: dict[str, JsonValue] = Field(default_factory=dict)


class SyntheticDataGenerated(_GeneratorEvent):
    event_type = "SyntheticDataGenerated"
    generator_id: UUID
    synthetic_dataset_id: UUID
    dataset_id: UUID
    object_key: str
    rows: int = Field(ge=0)


class GenerationFailed(_GeneratorEvent):
    event_type = "GenerationFailed"
    generator_id: UUID
    synthetic_dataset_id: UUID
    code: str
    message: str
