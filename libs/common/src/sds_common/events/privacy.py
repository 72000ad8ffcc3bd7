"""Events of the ``privacy`` topic (the budget ledger, declared metadata), keyed by dataset id."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from sds_common.events import topics
from sds_common.events.base import Event
from sds_common.tables.public_metadata import DeclaredColumn


class PrivacySpec(BaseModel):
    """What a user asks of a DP training."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    epsilon: float = Field(gt=0.0)
    delta: float | None = Field(default=None, gt=0.0, lt=1.0)
    accountant: Literal["rdp", "prv"] = "rdp"
    max_grad_norm: float | None = Field(default=None, gt=0.0)
    preprocessing_epsilon_share: float = Field(default=0.1, ge=0.0, lt=1.0)


class _PrivacyEvent(Event):
    topic = topics.PRIVACY
    key_field = "dataset_id"


class PrivacyBudgetReserved(_PrivacyEvent):
    """Budget was set aside for a training before it started."""

    event_type = "PrivacyBudgetReserved"
    dataset_id: UUID
    generator_id: UUID
    epsilon: float = Field(ge=0.0)
    delta: float = Field(ge=0.0)
    remaining_epsilon: float


class PrivacyBudgetSpent(_PrivacyEvent):
    """A training finished and the accountant's (epsilon, delta) was charged.

    ``epsilon`` covers the whole release: ``preprocessing_epsilon`` is what the data-dependent
    preprocessing would cost alone and ``training_epsilon`` what training added on top. The
    optional fields after ``steps`` describe the mechanism for the compliance reports; producers
    before they existed leave them out.
    """

    event_type = "PrivacyBudgetSpent"
    dataset_id: UUID
    generator_id: UUID
    epsilon: float = Field(ge=0.0)
    delta: float = Field(ge=0.0)
    preprocessing_epsilon: float = Field(ge=0.0)
    accountant: str
    noise_multiplier: float | None = None
    sample_rate: float | None = None
    steps: int | None = None
    remaining_epsilon: float
    mechanism: str | None = Field(default=None, max_length=300)
    training_epsilon: float | None = Field(default=None, ge=0.0)
    max_grad_norm: float | None = Field(default=None, gt=0.0)
    epochs: int | None = Field(default=None, ge=0)
    batch_size: int | None = Field(default=None, ge=1)


class PrivacyBudgetReleased(_PrivacyEvent):
    """An unspent reservation went back to the dataset's budget."""

    event_type = "PrivacyBudgetReleased"
    dataset_id: UUID
    generator_id: UUID
    epsilon: float = Field(ge=0.0)
    delta: float = Field(ge=0.0)
    reason: str
    remaining_epsilon: float


class DpConfigRejected(_PrivacyEvent):
    """A training's DP settings were refused before any data was touched."""

    event_type = "DpConfigRejected"
    dataset_id: UUID
    generator_id: UUID
    reasons: tuple[str, ...]


class PublicMetadataDeclared(_PrivacyEvent):
    """A dataset's owner declared public metadata after the schema review.

    The envelope's ``actor`` declared it, at its ``occurred_at``. Each declaration replaces the
    dataset's previous one (its ``declaration_version`` is one more); a training names the version
    in force when it was requested, and uses that one (see ``TrainingRequested``).
    """

    event_type = "PublicMetadataDeclared"
    dataset_id: UUID
    declaration_version: int = Field(ge=1)
    columns: dict[str, DeclaredColumn] = Field(
        default_factory=dict, description="the declared columns (none: everything found under DP)"
    )
    target_classes_public: bool = Field(
        default=True,
        description="the target's class labels are public (false: found under DP)",
    )
