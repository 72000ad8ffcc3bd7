"""Events of the ``privacy`` topic (the budget ledgers, declared metadata), keyed by dataset id.

The budget events are at version 2: they name the ledger they moved (``ledger``), since uploads
of one source share one ledger. Their version-1 models stay registered and upcast to the
dataset's own ledger, which is what every ledger was before.
"""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from sds_common.events import topics
from sds_common.events.base import Event
from sds_common.tables.public_metadata import DeclaredColumn


class PrivacySpec(BaseModel):
    """What a user asks of a DP training.

    Strict (``"1"`` or ``true`` is not a number) and finite (``1e999`` parses as infinity and
    would travel as ``null``): what the gateway accepts is exactly what every consumer parses.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False)

    epsilon: float = Field(gt=0.0)
    delta: float | None = Field(default=None, gt=0.0, lt=1.0)
    accountant: Literal["rdp", "prv"] = "rdp"
    max_grad_norm: float | None = Field(default=None, gt=0.0)
    preprocessing_epsilon_share: float = Field(
        default=0.2,
        ge=0.0,
        lt=1.0,
        description=(
            "share of the budget given to the data-dependent preprocessing (every column's "
            "released domain: categories, ranges, shapes, found under DP where nothing is "
            "declared public)"
        ),
    )


class _PrivacyEvent(Event):
    topic = topics.PRIVACY
    key_field = "dataset_id"


#: What a version-2 budget event says about the ledger it moved.
LEDGER_DESCRIPTION = (
    "the budget ledger charged, within the event's project: 'source:<label>' (uploads the "
    "owner labelled as one population), 'sha256:<hex>' (uploads of the same bytes) or "
    "'dataset:<id>' (one dataset alone, as every ledger was before version 2)"
)


def _own_ledger(dataset_id: UUID) -> str:
    """The ledger of a version-1 event: budgets were then kept per dataset."""
    return f"dataset:{dataset_id}"


class PrivacyBudgetReservedV1(_PrivacyEvent):
    """Budget was set aside for a training before it started (version 1: per dataset)."""

    event_type = "PrivacyBudgetReserved"
    dataset_id: UUID
    generator_id: UUID
    epsilon: float = Field(ge=0.0)
    delta: float = Field(ge=0.0)
    remaining_epsilon: float

    def upcast(self) -> PrivacyBudgetReserved:
        """The same reservation at version 2, on the dataset's own ledger."""
        return PrivacyBudgetReserved(**self.model_dump(), ledger=_own_ledger(self.dataset_id))


class PrivacyBudgetReserved(_PrivacyEvent):
    """Budget was set aside for a training before it started."""

    event_type = "PrivacyBudgetReserved"
    event_version = 2
    dataset_id: UUID
    generator_id: UUID
    ledger: str = Field(min_length=1, max_length=300, description=LEDGER_DESCRIPTION)
    epsilon: float = Field(ge=0.0)
    delta: float = Field(ge=0.0)
    remaining_epsilon: float = Field(description="ε the ledger has left")


class PrivacyBudgetSpentV1(_PrivacyEvent):
    """A training finished and the accountant's (epsilon, delta) was charged (version 1)."""

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

    def upcast(self) -> PrivacyBudgetSpent:
        """The same charge at version 2, on the dataset's own ledger."""
        return PrivacyBudgetSpent(**self.model_dump(), ledger=_own_ledger(self.dataset_id))


class PrivacyBudgetSpent(_PrivacyEvent):
    """A training finished and the accountant's (epsilon, delta) was charged.

    ``epsilon`` covers the whole release: ``preprocessing_epsilon`` is what the data-dependent
    preprocessing would cost alone and ``training_epsilon`` what training added on top. The
    optional fields after ``steps`` describe the mechanism for the compliance reports; producers
    before they existed leave them out.
    """

    event_type = "PrivacyBudgetSpent"
    event_version = 2
    dataset_id: UUID
    generator_id: UUID
    ledger: str = Field(min_length=1, max_length=300, description=LEDGER_DESCRIPTION)
    epsilon: float = Field(ge=0.0)
    delta: float = Field(ge=0.0)
    preprocessing_epsilon: float = Field(ge=0.0)
    accountant: str
    noise_multiplier: float | None = None
    sample_rate: float | None = None
    steps: int | None = None
    remaining_epsilon: float = Field(description="ε the ledger has left")
    mechanism: str | None = Field(default=None, max_length=300)
    training_epsilon: float | None = Field(default=None, ge=0.0)
    max_grad_norm: float | None = Field(default=None, gt=0.0)
    epochs: int | None = Field(default=None, ge=0)
    batch_size: int | None = Field(default=None, ge=1)


class PrivacyBudgetReleasedV1(_PrivacyEvent):
    """An unspent reservation went back to the dataset's budget (version 1)."""

    event_type = "PrivacyBudgetReleased"
    dataset_id: UUID
    generator_id: UUID
    epsilon: float = Field(ge=0.0)
    delta: float = Field(ge=0.0)
    reason: str
    remaining_epsilon: float

    def upcast(self) -> PrivacyBudgetReleased:
        """The same release at version 2, on the dataset's own ledger."""
        return PrivacyBudgetReleased(**self.model_dump(), ledger=_own_ledger(self.dataset_id))


class PrivacyBudgetReleased(_PrivacyEvent):
    """An unspent reservation went back to its budget ledger."""

    event_type = "PrivacyBudgetReleased"
    event_version = 2
    dataset_id: UUID
    generator_id: UUID
    ledger: str = Field(min_length=1, max_length=300, description=LEDGER_DESCRIPTION)
    epsilon: float = Field(ge=0.0)
    delta: float = Field(ge=0.0)
    reason: str
    remaining_epsilon: float = Field(description="ε the ledger has left")


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
