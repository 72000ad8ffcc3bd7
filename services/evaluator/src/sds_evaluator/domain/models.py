"""The evaluation report: a JSON-serialisable record of every score and what it means.

The HTML report is rendered from this model alone, so everything a plot needs (histogram bins,
category shares, association matrices) is stored here as aggregates, never as rows.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from sds_common.events.datasets import ColumnKind
from sds_evaluator.domain.validity_report import ColumnValidity, ValidityFlag

#: 2: validity section, the independent-columns baseline beside scores, no auto-picked target.
REPORT_VERSION = 2

Direction = Literal["higher", "lower", "target"]
SectionStatus = Literal["ok", "skipped"]
UtilityStatus = Literal["ok", "skipped", "no_target"]
TaskKind = Literal["binary", "multiclass", "regression"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ColumnInfo(_Frozen):
    """A column's name and semantic kind, as the datasets service profiled it."""

    name: str
    kind: ColumnKind


class EvaluationConfig(_Frozen):
    """Caps that keep an evaluation fast on wide or long tables.

    Attributes:
        max_pairs: column pairs scored for pair trends (sampled with the seed beyond this).
        max_fidelity_rows: rows per side used by fidelity metrics.
        max_utility_rows: training rows per model for ML utility.
        max_privacy_rows: rows per side used by distance-based privacy checks.
        max_attribute_rows: real rows attacked per side by attribute inference.
        max_plot_columns: columns that get a distribution plot in the report.
        max_heatmap_columns: columns shown in the association heatmaps.
        max_categories_shown: category bars per plot before the rest become "(other)".
        numeric_bins: histogram bins of numeric plots.
        pair_bins: quantile bins of a numeric column inside a contingency table.
        max_onehot_categories: one-hot columns per categorical column in the distance space.
        max_threads: OpenMP/BLAS threads while evaluating; None leaves the library default.
            One thread is the default because several workers usually share few cores, and
            OpenMP under oversubscription is far slower than one thread (a gradient-boosting fit
            on Adult took 23 s with default threads and 1.6 s with one, on a busy 2-core host).
    """

    max_pairs: int = Field(default=300, ge=1)
    max_fidelity_rows: int = Field(default=50_000, ge=10)
    max_utility_rows: int = Field(default=50_000, ge=10)
    max_privacy_rows: int = Field(default=10_000, ge=10)
    max_attribute_rows: int = Field(default=2_000, ge=10)
    max_plot_columns: int = Field(default=24, ge=1)
    max_heatmap_columns: int = Field(default=20, ge=2)
    max_categories_shown: int = Field(default=12, ge=2)
    numeric_bins: int = Field(default=20, ge=2)
    pair_bins: int = Field(default=10, ge=2)
    max_onehot_categories: int = Field(default=50, ge=1)
    max_threads: int | None = Field(default=1, ge=1)


class Metric(_Frozen):
    """One number with its reading instructions.

    Attributes:
        key: stable machine name.
        label: short human name.
        value: the number, or None when it could not be computed (``note`` says why).
        direction: "higher" or "lower" is better, or "target": closer to ``target`` is better.
        target: the ideal value when ``direction`` is "target".
        meaning: what the number says, in plain words for a data owner.
        note: caveat or reason for a missing value.
        baseline: the same score of the independent-columns baseline (every column sampled on
            its own from the real training rows); ``value - baseline`` is what the model adds.
    """

    key: str
    label: str
    value: float | None
    direction: Direction
    target: float | None = None
    meaning: str
    note: str | None = None
    baseline: float | None = None


class ColumnShape(_Frozen):
    name: str
    kind: ColumnKind
    metric: Literal["ks_complement", "tv_complement"]
    score: float = Field(ge=0.0, le=1.0)
    missing_real: float
    missing_synthetic: float


class PairTrend(_Frozen):
    left: str
    right: str
    metric: Literal["correlation_similarity", "contingency_similarity"]
    score: float = Field(ge=0.0, le=1.0)
    real_association: float
    synthetic_association: float


class ColumnDistribution(_Frozen):
    """Shares of real and synthetic rows per bin (numeric) or category, for one plot.

    ``labels`` name the bins; the last label may be "(missing)" or "(other)".
    """

    name: str
    kind: ColumnKind
    labels: list[str]
    real: list[float]
    synthetic: list[float]
    score: float


class AssociationMatrices(_Frozen):
    """Association strength in [0, 1] per column pair (|Spearman|, Cramér's V, or eta)."""

    columns: list[str]
    real: list[list[float | None]]
    synthetic: list[list[float | None]]


class FidelitySection(_Frozen):
    metrics: list[Metric]
    columns: list[ColumnShape]
    pairs: list[PairTrend]
    pairs_total: int
    distributions: list[ColumnDistribution]
    associations: AssociationMatrices | None
    notes: list[str] = Field(default_factory=list)


class ValiditySection(_Frozen):
    """Per-column validity (see :mod:`sds_evaluator.domain.validity`), checked before fidelity.

    Attributes:
        metrics: the headline (the worst column's score) and the count of flagged columns.
        columns: every checked column's numbers and flags.
        flags: every failed check, in column order.
    """

    metrics: list[Metric]
    columns: list[ColumnValidity]
    flags: list[ValidityFlag]
    notes: list[str] = Field(default_factory=list)


class ModelScores(_Frozen):
    """Scores of one model on the real holdout (keys: roc_auc, accuracy, f1_macro or r2, mae)."""

    train_on: Literal["synthetic", "real", "baseline"]
    train_rows: int
    test_rows: int
    scores: dict[str, float]


class UtilitySection(_Frozen):
    """ML utility of the declared target; ``status`` "no_target" when none was declared.

    Attributes:
        chance_band: scores within this of chance are no better than guessing: two standard
            errors of a ROC-AUC of 0.5 on this holdout (Hanley & McNeil), or 0 for R²
            (a model explaining nothing scores <= 0). None when no model was trained.
        baseline: the same model trained on the independent-columns baseline.
    """

    status: UtilityStatus
    target: str | None = None
    task: TaskKind | None = None
    positive_class: str | None = None
    metrics: list[Metric] = Field(default_factory=list)
    tstr: ModelScores | None = None
    trtr: ModelScores | None = None
    baseline: ModelScores | None = None
    chance_band: float | None = None
    notes: list[str] = Field(default_factory=list)


class AttributeInference(_Frozen):
    """An attacker who knows a real row's other columns guesses ``column`` from synthetic data."""

    column: str
    baseline_accuracy: float
    accuracy_on_members: float
    accuracy_on_non_members: float
    lift: float
    member_advantage: float


class MembershipInference(_Frozen):
    """The membership-inference attack and the empirical epsilon lower bound it implies.

    Members are training rows, non-members holdout rows; the score is minus the distance to the
    closest synthetic row (see ``empirical_dp`` for the bound).

    Attributes:
        attack_auc: ROC AUC of the attack (0.5: a coin flip).
        epsilon_lower_bound: epsilon is at least this, with ``confidence`` (0: no evidence).
        epsilon_point_estimate: log(TPR / FPR) at the chosen threshold, without confidence
            bounds.
        confidence: the probability the bound holds over the sampling of attack rows.
        max_detectable: the largest bound these sample sizes could ever show; a claimed
            epsilon above it cannot be refuted by this audit.
        delta: the delta the bound was computed at (the generator's claim, 0 if none).
        tpr: rate of the flagged event in the group it was meant to find (evaluation half).
        fpr: rate of the same event in the other group (evaluation half).
        rows_per_side: members (and non-members) in the evaluation half.
    """

    attack_auc: float
    epsilon_lower_bound: float
    epsilon_point_estimate: float
    confidence: float
    max_detectable: float
    delta: float
    tpr: float
    fpr: float
    rows_per_side: int


class PrivacyRiskSection(_Frozen):
    status: SectionStatus
    metrics: list[Metric] = Field(default_factory=list)
    membership_inference: MembershipInference | None = None
    attribute_inference: list[AttributeInference] = Field(default_factory=list)
    rows_used: dict[str, int] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)


class GuaranteeParameter(_Frozen):
    """One parameter of the guarantee, with its value and meaning in plain words."""

    key: str
    label: str
    value: str
    meaning: str


class PrivacyGuarantee(_Frozen):
    """The formal guarantee the generator claims (from training, not measured here).

    The accountant's parameters are None when the trainer did not report them; ``explained``
    lists the reported ones in plain words (``sds_common.privacy.explain``), and
    ``empirical_check`` says whether this evaluation's membership attack agrees with the claim.
    """

    differentially_private: bool
    epsilon: float | None = None
    delta: float | None = None
    mechanism: str | None = None
    details: dict[str, str] = Field(default_factory=dict)
    meaning: str
    accountant: str | None = None
    preprocessing_epsilon: float | None = None
    training_epsilon: float | None = None
    noise_multiplier: float | None = None
    sample_rate: float | None = None
    steps: int | None = None
    epochs: int | None = None
    max_grad_norm: float | None = None
    batch_size: int | None = None
    explained: list[GuaranteeParameter] = Field(default_factory=list)
    empirical_check: str | None = None


class EvaluationReport(_Frozen):
    """Everything the evaluator found about one synthetic table.

    Attributes:
        scores: flat headline numbers for events and dashboards; a key is absent when its
            metric could not be computed.
        method: the generator's method (aim, mst, dp-ctgan, ...), when known.
    """

    report_version: int = REPORT_VERSION
    seed: int
    rows: dict[str, int]
    columns_used: list[ColumnInfo]
    columns_excluded: list[str]
    scores: dict[str, float]
    method: str | None = None
    validity: ValiditySection
    fidelity: FidelitySection
    utility: UtilitySection
    privacy_risk: PrivacyRiskSection
    privacy_guarantee: PrivacyGuarantee
    methods: list[str]
    timings_s: dict[str, float]
