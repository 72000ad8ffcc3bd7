"""Public metadata: what a data owner declares public about a table, and the proposal of it.

Declared metadata is schema, not data: a column's kind, the range its values lie in, the list of
its categories, the classes of the prediction target. The owner asserts that it is public
knowledge, so the trainer takes it as given and spends no ε on it, and the privacy report says
that the guarantee holds *given* it, naming who declared what and when. Everything not declared is
found under DP and charged.

After profiling, the datasets service computes a :class:`SchemaProposal` from the raw rows (not
DP, so stored beside the profile at :func:`proposal_key` and shown to the dataset's owners only):
the kind of every column, numeric bounds rounded outwards to round values, datetime bounds to
whole years, the full category list of each low-cardinality column with a warning on each
category held by :data:`RARE_ROWS` rows or fewer, and the target's classes. The owner accepts all
or some of it (``PUT /datasets/{id}/public-metadata``); the gateway refuses a :class:`Declaration`
that could carry a value from the data the proposal did not show (the rule is
``sds_gateway.domain.declarations``), and announces an accepted one as ``PublicMetadataDeclared``.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any, Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from sds_common.tables.formats import ColumnKind

#: The proposal's object name, beside the profile's (see :func:`proposal_key`).
PROPOSAL_NAME: Final = "schema-proposal.json"
#: A category held by this many rows or fewer is flagged as rare (see :data:`RARE_REASON`).
RARE_ROWS: Final = 10
#: Columns with more distinct values get no proposed category list: beyond a hundred, a column's
#: values are seldom a public code list, and the list would mostly be rare values.
MAX_PROPOSED_CATEGORIES: Final = 100
MAX_DECLARED_CATEGORIES: Final = 5_000
MAX_DECLARED_COLUMNS: Final = 2_000
RARE_REASON: Final = (
    f"A category held by {RARE_ROWS} rows or fewer is flagged: declaring it public tells every "
    "reader of the list that at least one person in the data has it, a fact the DP guarantee "
    "would otherwise hide (DP category discovery releases no category that so few rows hold). "
    f"{RARE_ROWS} is the usual minimum cell size of statistical disclosure control (CMS's "
    "cell-size suppression policy publishes no count of 1 to 10 people). Leave such a category "
    "out of the declared list unless it is public knowledge that it occurs: its rows then go to "
    "the '(other)' bucket."
)
PROPOSAL_NOTICE: Final = (
    "This proposal is computed from the real rows and is not differentially private: it is for "
    "the data owner only. Nothing in it is public until the owner declares it."
)
#: Where a proposal says how the target's classes are treated (the field that opts out).
TARGET_OPT_OUT_FIELD: Final = "target_classes_public"

Bounds = tuple[float, float] | tuple[AwareDatetime, AwareDatetime]
_BOUNDED_KINDS: Final = frozenset({"numeric", "datetime"})


def proposal_key(profile_key: str) -> str:
    """The object key of a dataset's proposal: :data:`PROPOSAL_NAME` beside its profile."""
    folder, _, _ = profile_key.rpartition("/")
    return f"{folder}/{PROPOSAL_NAME}" if folder else PROPOSAL_NAME


def _aware(value: Any) -> Any:
    """A date or datetime written as text (``2013-01-01``) as a datetime, naive taken as UTC."""
    if isinstance(value, str) and not _is_number(value):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return value  # pydantic names the problem
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def bounds_text(bounds: Bounds) -> str:
    """Bounds as reports and messages print them (``0 to 100``, ``2013-01-01 to 2016-01-01``)."""
    low, high = bounds
    if isinstance(low, datetime) and isinstance(high, datetime):
        return f"{_moment(low)} to {_moment(high)}"
    return f"{low:,.15g} to {high:,.15g}"


def _moment(value: datetime) -> str:
    value = value.astimezone(UTC)
    if (value.hour, value.minute, value.second, value.microsecond) == (0, 0, 0, 0):
        return value.date().isoformat()
    return value.isoformat().replace("+00:00", "Z")


class DeclaredColumn(BaseModel):
    """What is declared public about one column.

    Attributes:
        kind: The column's kind (as profiled: a kind is changed at upload, not declared).
        bounds: ``[low, high]`` every value lies in: numbers for a numeric column, dates or
            datetimes (ISO 8601; without a zone, UTC) for a datetime column.
        categories: The column's public category list (categorical columns only). Values of
            the data left out of it are not public: their rows go to the ``(other)`` bucket.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ColumnKind
    bounds: Bounds | None = None
    categories: tuple[str, ...] | None = Field(
        default=None, min_length=1, max_length=MAX_DECLARED_CATEGORIES
    )

    @field_validator("bounds", mode="before")
    @classmethod
    def _dates(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return tuple(_aware(item) for item in value)
        return value

    @field_validator("categories")
    @classmethod
    def _distinct(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is not None:
            if len(set(value)) != len(value):
                raise ValueError("declared categories repeat a value")
            if any(len(item) > 500 for item in value):
                raise ValueError("a declared category is longer than 500 characters")
        return value

    @model_validator(mode="after")
    def _fits_kind(self) -> DeclaredColumn:
        if self.bounds is not None:
            if self.kind not in _BOUNDED_KINDS:
                raise ValueError(f"a {self.kind} column has no bounds")
            low, high = self.bounds
            if isinstance(low, datetime) != (self.kind == "datetime"):
                raise ValueError(
                    "a datetime column's bounds are dates (ISO 8601), a numeric column's numbers"
                )
            finite = [math.isfinite(value) for value in (low, high) if isinstance(value, float)]
            if not all(finite):
                raise ValueError("bounds must be finite numbers")
            if not low < high:  # type: ignore[operator]
                raise ValueError("bounds must be [low, high] with low < high")
        if self.categories is not None and self.kind != "categorical":
            raise ValueError(f"a {self.kind} column has no declared categories")
        return self

    def describe(self) -> str:
        """What is declared, in words (``kind numeric, bounds 0 to 100``)."""
        parts = [f"kind {self.kind}"]
        if self.bounds is not None:
            parts.append(f"bounds {bounds_text(self.bounds)}")
        if self.categories is not None:
            parts.append(f"{len(self.categories)} categories")
        return ", ".join(parts)


class Declaration(BaseModel):
    """A dataset's declared public metadata: some of its columns, and its target's classes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    columns: dict[str, DeclaredColumn] = Field(
        default_factory=dict,
        max_length=MAX_DECLARED_COLUMNS,
        description="the columns declared, each with what is public about it",
    )
    target_classes_public: bool = Field(
        default=True,
        description=(
            "the target column's class labels are public (the default: the labels of a "
            "prediction target are schema, not data about a person); false finds them under DP"
        ),
    )


class RareCategory(BaseModel):
    """A proposed category held by few rows (see :data:`RARE_REASON`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    value: str
    rows: int = Field(ge=1)


class ColumnProposal(BaseModel):
    """What the proposal says one column could declare, and why it proposes no more."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    kind: ColumnKind
    target: bool = False
    bounds: Bounds | None = None
    categories: tuple[str, ...] | None = None
    rare: tuple[RareCategory, ...] = ()
    note: str | None = None

    def as_declared(self) -> DeclaredColumn:
        """The column declared exactly as proposed."""
        return DeclaredColumn(kind=self.kind, bounds=self.bounds, categories=self.categories)


class SchemaProposal(BaseModel):
    """What a dataset's owner could declare public, computed once at profiling (not DP)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    proposal_version: Literal[1] = 1
    dp: Literal[False] = False
    notice: str = PROPOSAL_NOTICE
    n_rows: int = Field(ge=0)
    rare_rows: int = RARE_ROWS
    rare_reason: str = RARE_REASON
    target_column: str | None = None
    target_classes: str | None = Field(
        default=None, description="how the target's classes are treated, and how to opt out"
    )
    columns: tuple[ColumnProposal, ...]

    def column(self, name: str) -> ColumnProposal | None:
        """The proposal for the column ``name`` (None: no such column)."""
        return next((column for column in self.columns if column.name == name), None)

    def accepted(
        self, names: Collection[str] | None = None, *, target_classes_public: bool = True
    ) -> Declaration:
        """The declaration that accepts the proposal for ``names`` (None: every column).

        With ``target_classes_public=False`` the target column is declared by its kind only:
        its classes stay private, found under DP.
        """
        columns = {}
        for column in self.columns:
            if names is not None and column.name not in names:
                continue
            declared = column.as_declared()
            if column.target and not target_classes_public:
                declared = DeclaredColumn(kind=column.kind, bounds=column.bounds)
            columns[column.name] = declared
        return Declaration(columns=columns, target_classes_public=target_classes_public)
