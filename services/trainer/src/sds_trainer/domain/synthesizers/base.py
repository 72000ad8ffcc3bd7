"""The synthesizer protocol and the value types that cross it.

Every synthesizer (ours or a wrapped peer) implements :class:`Synthesizer`; handlers pick one by
name through :mod:`sds_trainer.domain.synthesizers.registry`, the way Opacus picks accountants.

Every column comes back: :meth:`Synthesizer.sample` returns the input's columns in their order and
dtypes. Identifier columns are never modelled (they are regenerated with a DP-released shape, see
:mod:`.codec.identifier`); free text is modelled like a category (only texts that many rows share
can be released).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol, Self, runtime_checkable

import pandas as pd  # type: ignore[import-untyped, unused-ignore]

from sds_common.tables import ColumnFormat
from sds_trainer.domain.synthesizers.errors import InvalidTrainingConfig

ColumnKind = Literal["numeric", "categorical", "boolean", "datetime", "identifier", "text"]
AccountantName = Literal["rdp", "prv"]
#: Kinds no model sees: row keys are regenerated from their released shape.
REGENERATED_KINDS: frozenset[str] = frozenset({"identifier"})
#: Label of the bucket of categories too rare to release, unless configured.
OTHER_LABEL = "(other)"
COLUMN_KINDS: frozenset[str] = frozenset(
    {"numeric", "categorical", "boolean", "datetime", "identifier", "text"}
)
PUBLIC_METADATA = "public metadata"


@dataclass(frozen=True)
class ColumnSpec:
    """What the user declared about one column.

    Attributes:
        name: Column name in the input frame.
        kind: One of :data:`COLUMN_KINDS`; identifier columns are regenerated, not modelled.
        bounds: Declared public ``(low, high)`` range of a numeric/datetime column (datetimes in
            epoch seconds). Declared bounds cost no ε; without them DP bounds are estimated.
        categories: Declared public category set of a categorical column (as strings).
        integer: Round generated numeric values to integers.
        nullable: The column may hold missing values (a missing indicator is modelled).
        format: How the column's values were written (``sds_common.tables.ColumnFormat``):
            synthetic values keep its grid, decimals, granularity and dtype.
        target: The dataset's declared target column.
        categories_origin: Who made ``categories`` public: ``"declared"`` (the owner's
            metadata) or ``"target"`` (the classes of the declared target).
        other_label: How categories too rare to release are written out.
    """

    name: str
    kind: ColumnKind
    bounds: tuple[float, float] | None = None
    categories: tuple[str, ...] | None = None
    integer: bool = False
    nullable: bool = True
    format: ColumnFormat | None = None
    target: bool = False
    categories_origin: str = "declared"
    other_label: str = OTHER_LABEL

    def problems(self) -> list[str]:
        """Reasons this spec is unusable (empty when fine)."""
        out: list[str] = []
        if self.kind not in COLUMN_KINDS:
            out.append(f"column {self.name!r}: unknown kind {self.kind!r}")
        if self.bounds is not None:
            low, high = self.bounds
            if not (math.isfinite(low) and math.isfinite(high) and low < high):
                out.append(f"column {self.name!r}: bounds must be finite with low < high")
        if self.categories is not None and len(set(self.categories)) != len(self.categories):
            out.append(f"column {self.name!r}: declared categories repeat")
        return out


def column_specs(
    columns: Sequence[Mapping[str, Any]],
    frame: pd.DataFrame,
    declared: object = None,
    *,
    public_target_classes: bool = True,
    other_label: str = OTHER_LABEL,
) -> list[ColumnSpec]:
    """Specs from the dataset's schema plus what the owner declared about its columns.

    Args:
        columns: The datasets service's column summaries (``name``, ``kind``,
            ``missing_fraction``, ``format``, ``target``): schema facts, public.
        frame: The training rows. Their dtypes are read (integer-ness is public schema) and,
            for a declared target column, its classes: the labels of a prediction target are
            schema the owner declared at upload, not data about a person (opt out with
            ``public_target_classes=False``).
        declared: ``params.public_metadata``: ``{column: {"bounds": [low, high]} |
            {"categories": [...]} | {"other_label": "..."}}``. Anything else declares nothing.
        public_target_classes: Treat the declared target's classes as public metadata.
        other_label: Label of the bucket of unreleased categories (a column's declaration wins).
    """
    metadata = declared if isinstance(declared, Mapping) else {}
    specs = []
    for column in columns:
        name = str(column["name"])
        meta = metadata.get(name, {})
        meta = meta if isinstance(meta, Mapping) else {}
        bounds = meta.get("bounds")
        categories = meta.get("categories")
        origin = "declared"
        target = bool(column.get("target", False))
        if (
            categories is None
            and target
            and public_target_classes
            and column["kind"] in ("categorical", "boolean", "text")
            and name in frame
        ):
            categories = sorted({str(v) for v in frame[name].dropna()})
            origin = "target"
        fmt = column.get("format")
        specs.append(
            ColumnSpec(
                name=name,
                kind=column["kind"],
                bounds=(float(bounds[0]), float(bounds[1])) if bounds else None,
                categories=tuple(str(c) for c in categories) if categories else None,
                integer=name in frame and pd.api.types.is_integer_dtype(frame[name]),
                nullable=float(column.get("missing_fraction", 0.0)) > 0,
                format=ColumnFormat.model_validate(fmt) if fmt else None,
                target=target,
                categories_origin=origin,
                other_label=str(meta.get("other_label", other_label)),
            )
        )
    return specs


@dataclass(frozen=True)
class PrivacyBudget:
    """The (ε, δ) target of one training, and how to spend it.

    Attributes:
        epsilon: Total ε of the release (preprocessing + training).
        delta: Total δ; keep it well below 1/n.
        accountant: Opacus accountant for DP-SGD, ``"rdp"`` or ``"prv"``.
        max_grad_norm: Per-sample clipping norm of DP-SGD.
        preprocessing_epsilon_share: Share of the budget given to data-dependent preprocessing
            not covered by declared public metadata: of the zCDP budget rho(ε, δ) for the
            Gaussian histograms, and of δ for the category thresholds (see
            :mod:`.codec.mechanisms`). The default matches the request's
            (``sds_common.events.PrivacySpec``).
    """

    epsilon: float
    delta: float
    accountant: AccountantName = "rdp"
    max_grad_norm: float = 1.0
    preprocessing_epsilon_share: float = 0.2

    def problems(self) -> list[str]:
        """Reasons this budget is unusable (empty when fine)."""
        out: list[str] = []
        if not (math.isfinite(self.epsilon) and self.epsilon > 0):
            out.append("epsilon must be a positive finite number")
        if not 0 < self.delta < 1:
            out.append("delta must be in (0, 1)")
        if self.accountant not in ("rdp", "prv"):
            out.append(f"accountant must be 'rdp' or 'prv', not {self.accountant!r}")
        if not (math.isfinite(self.max_grad_norm) and self.max_grad_norm > 0):
            out.append("max_grad_norm must be positive")
        if not 0 < self.preprocessing_epsilon_share < 1:
            out.append("preprocessing_epsilon_share must be in (0, 1)")
        return out


@dataclass(frozen=True)
class PreprocessingStep:
    """One data-dependent statistic of the preprocessing and what covers it.

    ``coverage`` is :data:`PUBLIC_METADATA` (no ε) or ``"DP mechanism <name> with ε=…"``.
    """

    column: str
    statistic: str
    coverage: str
    epsilon: float = 0.0
    delta: float = 0.0


@dataclass(frozen=True)
class EpochReport:
    """Progress after one epoch, given to the ``progress`` callback."""

    epoch: int
    total_epochs: int
    epsilon_spent_so_far: float
    losses: dict[str, float]


@dataclass(frozen=True)
class FitReport:
    """What a fit spent and did.

    ``epsilon`` is the whole release's, from ONE accountant that composes the preprocessing's
    Gaussian histograms (one step of noise multiplier ``preprocessing_noise_multiplier`` at
    sample rate 1) with every DP-SGD step, at ``delta - threshold_delta``; ``threshold_delta`` is
    the category discovery's δ₀ (a one-row category passing its threshold), added on top.
    ``preprocessing_epsilon`` is what the preprocessing would cost alone and
    ``training_epsilon = epsilon - preprocessing_epsilon`` what training added to it.
    ``choice`` is what ``auto`` picked (method, params) and why; None for a named method.
    ``columns`` says per column what was released and how the synthetic column is made
    (identifiers regenerated, the rows that fell into the other bucket and why).
    """

    epsilon: float | None
    delta: float | None
    preprocessing_epsilon: float
    training_epsilon: float | None
    accountant: str | None
    noise_multiplier: float | None
    sample_rate: float
    steps: int
    epochs: int
    max_grad_norm: float | None
    batch_size: int
    device: str
    seconds: float
    losses: list[dict[str, float]] = field(default_factory=list)
    preprocessing_steps: list[PreprocessingStep] = field(default_factory=list)
    preprocessing_noise_multiplier: float | None = None
    threshold_delta: float = 0.0
    choice: dict[str, Any] | None = None
    columns: list[dict[str, Any]] = field(default_factory=list)


ProgressFn = Callable[[EpochReport], None]
StopFn = Callable[[], bool]
CheckpointFn = Callable[[int, bytes], None]


@runtime_checkable
class Synthesizer(Protocol):
    """A generative model of one table."""

    name: ClassVar[str]
    differentially_private: ClassVar[bool]

    def fit(
        self,
        data: pd.DataFrame,
        *,
        columns: Sequence[ColumnSpec],
        privacy: PrivacyBudget | None,
        params: Mapping[str, Any],
        progress: ProgressFn | None = None,
        should_stop: StopFn | None = None,
        checkpoint: CheckpointFn | None = None,
        resume_from: bytes | None = None,
        seed: int = 0,
    ) -> FitReport:
        """Train on ``data``; see the implementation for ``params``."""
        ...

    def sample(
        self,
        n: int,
        *,
        seed: int | None = None,
        conditions: Mapping[str, Any] | None = None,
    ) -> pd.DataFrame:
        """Generate ``n`` rows with the modelled columns and their input dtypes."""
        ...

    def save(self) -> bytes:
        """Serialise the fitted model."""
        ...

    @classmethod
    def load(cls, data: bytes) -> Self:
        """Rebuild a model saved by :meth:`save`."""
        ...


def validate_columns(data: pd.DataFrame, columns: Sequence[ColumnSpec]) -> list[ColumnSpec]:
    """Check the specs against the frame; return them (every column is synthesised).

    Raises:
        InvalidTrainingConfig: listing every problem found.
    """
    reasons = [p for spec in columns for p in spec.problems()]
    names = [c.name for c in columns]
    if len(set(names)) != len(names):
        reasons.append("column specs repeat a name")
    reasons += [f"column {n!r} is not in the data" for n in names if n not in data.columns]
    kept = list(columns)
    if not any(c.kind not in REGENERATED_KINDS for c in kept):
        reasons.append("no column left to model (identifier columns are regenerated, not modelled)")
    if len(data) == 0:
        reasons.append("the data has no rows")
    if reasons:
        raise InvalidTrainingConfig(reasons)
    return kept
