"""A generator's history read from its audit trail: the facts every compliance output states.

Pure: ``generator_history`` turns the trail (records in log order) into what the privacy report
and the model card say: the dataset, the training, the DP guarantee with its parameters in
plain words, every budget movement, the samples and the evaluator's empirical risks. Payloads
are read defensively: a report on a tampered log must still render (and say it is tampered).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict

from sds_audit.domain.chain import ChainRecord, as_utc
from sds_audit.domain.declared import DeclaredMetadata, declared_metadata, given_sentence
from sds_audit.domain.trail import number, summarise
from sds_common.privacy.explain import NON_DP_MEANING, DpParameters, dp_meaning, explain_parameters


class Out(BaseModel):
    """Base of the report models: frozen, serialised as JSON by the routes."""

    model_config = ConfigDict(frozen=True)


class TrailItem(Out):
    """One audit record of the generator's life."""

    seq: int
    occurred_at: datetime
    event_type: str
    actor: str
    summary: str
    event_id: str
    hash: str


class DatasetFacts(Out):
    """The training data, as uploaded and profiled (schema only, never values)."""

    dataset_id: str
    name: str | None = None
    filename: str | None = None
    size_bytes: int | None = None
    sha256: str | None = None
    uploaded_by: str | None = None
    uploaded_at: datetime | None = None
    n_rows: int | None = None
    n_columns: int | None = None
    columns: list[str] = []
    personal_data_columns: list[str] = []
    deleted_at: datetime | None = None


class TrainingFacts(Out):
    """Who asked for which generator, and how its training went."""

    status: Literal["requested", "running", "succeeded", "failed", "cancelled", "rejected"]
    detail: str | None = None
    method: str | None = None
    requested_by: str | None = None
    requested_at: datetime | None = None
    finished_at: datetime | None = None
    device: str | None = None
    epochs: int | None = None
    duration_s: float | None = None
    params: dict[str, Any] = {}
    public_metadata_columns: list[str] = []


class ParameterOut(Out):
    """One DP parameter with its value and meaning in plain words."""

    key: str
    label: str
    value: str
    meaning: str


class Guarantee(Out):
    """The generator's DP guarantee: what was asked, what the accountant charged, what it means."""

    differentially_private: bool
    in_force: bool
    requested: dict[str, Any] | None
    parameters: dict[str, Any]
    meaning: str
    explained: list[ParameterOut]
    given: str | None = None


class BudgetEntry(Out):
    """One movement of the dataset's privacy budget for this generator."""

    seq: int
    occurred_at: datetime
    entry: Literal["reserved", "spent", "released"]
    epsilon: float | None
    delta: float | None
    remaining_epsilon: float | None
    reason: str | None = None


class Risk(Out):
    """One empirical privacy check of an evaluation."""

    key: str
    label: str
    value: float
    meaning: str


class EvaluationFacts(Out):
    """An evaluation of one sample: headline scores, empirical risks, and whether they agree."""

    evaluation_id: str
    synthetic_dataset_id: str
    occurred_at: datetime
    scores: dict[str, float]
    risks: list[Risk]
    consistency: str | None


class SampleFacts(Out):
    """A synthetic dataset drawn from the generator."""

    synthetic_dataset_id: str
    status: Literal["requested", "generated", "failed"]
    rows: int | None = None
    at: datetime
    downloads: int = 0


class GeneratorHistory(Out):
    """Everything the audit log says about one generator."""

    generator_id: str
    project_id: str | None
    dataset: DatasetFacts | None
    training: TrainingFacts
    guarantee: Guarantee
    public_metadata: list[DeclaredMetadata] = []
    budget: list[BudgetEntry]
    samples: list[SampleFacts]
    evaluations: list[EvaluationFacts]
    trail: list[TrailItem]


#: The evaluator's scores that are privacy checks, with a short label and meaning.
RISKS: Final[Mapping[str, tuple[str, str]]] = {
    "dcr_share": (
        "Closer-to-training share (DCR)",
        "Share of synthetic rows closer to a training row than to a real row the generator never "
        "saw. About 0.5: no sign of memorisation; near 1: training rows are reproduced.",
    ),
    "exact_copies": (
        "Exact copies of training rows",
        "Synthetic rows equal to a training row in every column (some occur by chance in tables "
        "with few, coarse columns).",
    ),
    "mia_auc": (
        "Membership-inference attack AUC",
        "How well an attacker tells who was in the training data. 0.5: no better than a coin "
        "flip; 1: perfectly.",
    ),
    "mia_epsilon_lower_bound": (
        "Empirical ε, lower bound",
        "The privacy loss the attack proves. 0: no leak shown. A value above the claimed ε would "
        "contradict the guarantee.",
    ),
    "attribute_inference_advantage": (
        "Attribute inference, member advantage",
        "How much better a hidden value is guessed for people in the training data than for "
        "others. About 0: the data teaches population patterns, not facts about individuals.",
    ),
}
_REQUESTED_KEYS: Final = (
    "epsilon",
    "delta",
    "accountant",
    "max_grad_norm",
    "preprocessing_epsilon_share",
)
_ENDINGS: Final[Mapping[str, Literal["succeeded", "failed", "cancelled", "rejected"]]] = {
    "ModelTrained": "succeeded",
    "TrainingFailed": "failed",
    "TrainingCancelled": "cancelled",
    "DpConfigRejected": "rejected",
}


def generator_history(generator_id: str, trail: Sequence[ChainRecord]) -> GeneratorHistory | None:
    """What the trail says about ``generator_id``; None when no record names the generator."""
    own = [r for r in trail if str(r.payload.get("generator_id")) == generator_id]
    if not own:
        return None
    training = _training(own)
    spent = [r for r in own if r.event_type == "PrivacyBudgetSpent"]
    requested = next((r for r in own if r.event_type == "TrainingRequested"), None)
    guarantee = _guarantee(requested, spent[-1] if spent else None, training)
    declared = declared_metadata(trail, requested)
    if guarantee.differentially_private:
        # What the guarantee takes as given: declared metadata is public, not protected.
        guarantee = guarantee.model_copy(update={"given": given_sentence(declared)})
    return GeneratorHistory(
        generator_id=generator_id,
        project_id=next((r.project_id for r in own if r.project_id), None),
        dataset=_dataset(trail, own),
        training=training,
        guarantee=guarantee,
        public_metadata=declared,
        budget=[_budget(r) for r in own if r.event_type.startswith("PrivacyBudget")],
        samples=_samples(trail, own),
        evaluations=[
            _evaluation(r, guarantee)
            for r in trail
            if r.event_type == "EvaluationCompleted"
            and str(r.payload.get("generator_id")) == generator_id
        ],
        trail=[_item(r) for r in trail],
    )


def _item(r: ChainRecord) -> TrailItem:
    return TrailItem(
        seq=r.seq,
        occurred_at=as_utc(r.occurred_at),
        event_type=r.event_type,
        actor=r.actor,
        summary=summarise(r),
        event_id=r.event_id,
        hash=r.hash,
    )


def _training(own: Sequence[ChainRecord]) -> TrainingFacts:
    facts: dict[str, Any] = {"status": "requested"}
    for r in own:
        p = r.payload
        if r.event_type == "TrainingRequested":
            given = p.get("params")
            params: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
            declared = params.get("public_metadata")
            facts.update(
                method=p.get("method"),
                requested_by=r.actor,
                requested_at=as_utc(r.occurred_at),
                params={k: v for k, v in params.items() if k != "public_metadata"},
                public_metadata_columns=sorted(declared) if isinstance(declared, Mapping) else [],
            )
        elif r.event_type == "TrainingStarted":
            facts.update(status="running", device=p.get("device"))
        elif r.event_type in _ENDINGS:
            facts.update(status=_ENDINGS[r.event_type], finished_at=as_utc(r.occurred_at))
            if r.event_type == "ModelTrained":
                facts.update(epochs=p.get("epochs"), duration_s=p.get("duration_s"))
            elif r.event_type == "DpConfigRejected":
                facts["detail"] = "; ".join(p.get("reasons", []))
            elif r.event_type == "TrainingFailed":
                facts["detail"] = f"{p.get('code')}: {p.get('message')}"
    return TrainingFacts(**facts)


def _guarantee(
    requested: ChainRecord | None, spent: ChainRecord | None, training: TrainingFacts
) -> Guarantee:
    spec = requested.payload.get("privacy") if requested is not None else None
    asked = (
        {k: spec[k] for k in _REQUESTED_KEYS if spec.get(k) is not None}
        if isinstance(spec, Mapping)
        else None
    )
    is_dp = asked is not None or spent is not None
    parameters = _parameters(spent) if spent is not None else DpParameters()
    in_force = is_dp and training.status == "succeeded" and parameters.epsilon is not None
    if in_force and parameters.epsilon is not None:
        meaning = dp_meaning(parameters.epsilon, parameters.delta)
    elif is_dp:
        meaning = (
            "Differential privacy was asked for, but no trained model exists "
            f"(training {training.status}), so nothing was released from this generator."
        )
    else:
        meaning = NON_DP_MEANING
    return Guarantee(
        differentially_private=is_dp,
        in_force=in_force,
        requested=asked,
        parameters={
            name: getattr(parameters, name)
            for name in DpParameters.field_names()
            if getattr(parameters, name) is not None
        },
        meaning=meaning,
        explained=[
            ParameterOut(key=line.key, label=line.label, value=line.value, meaning=line.meaning)
            for line in explain_parameters(parameters)
        ],
    )


def _parameters(spent: ChainRecord) -> DpParameters:
    p = spent.payload
    values = {name: p.get(name) for name in DpParameters.field_names()}
    return DpParameters(**values)


def _budget(r: ChainRecord) -> BudgetEntry:
    kinds: Mapping[str, Literal["reserved", "spent", "released"]] = {
        "PrivacyBudgetReserved": "reserved",
        "PrivacyBudgetSpent": "spent",
        "PrivacyBudgetReleased": "released",
    }
    p = r.payload
    return BudgetEntry(
        seq=r.seq,
        occurred_at=as_utc(r.occurred_at),
        entry=kinds[r.event_type],
        epsilon=p.get("epsilon"),
        delta=p.get("delta"),
        remaining_epsilon=p.get("remaining_epsilon"),
        reason=p.get("reason"),
    )


def _dataset(trail: Sequence[ChainRecord], own: Sequence[ChainRecord]) -> DatasetFacts | None:
    dataset_id = next(
        (str(r.payload["dataset_id"]) for r in own if r.payload.get("dataset_id")), None
    )
    if dataset_id is None:
        return None
    facts: dict[str, Any] = {"dataset_id": dataset_id}
    for r in trail:
        if r.resource_type != "dataset" or r.resource_id != dataset_id:
            continue
        p = r.payload
        if r.event_type == "DatasetUploaded":
            facts.update(
                name=p.get("name"),
                filename=p.get("filename"),
                size_bytes=p.get("size_bytes"),
                sha256=p.get("sha256"),
                uploaded_by=r.actor,
                uploaded_at=as_utc(r.occurred_at),
            )
        elif r.event_type == "DatasetProfiled":
            columns = [c for c in p.get("columns", []) if isinstance(c, Mapping)]
            facts.update(
                n_rows=p.get("n_rows"),
                n_columns=p.get("n_columns"),
                columns=[str(c.get("name")) for c in columns],
                personal_data_columns=[
                    f"{c.get('name')} ({', '.join(c['pii'])})" for c in columns if c.get("pii")
                ],
            )
        elif r.event_type == "DatasetDeleted":
            facts["deleted_at"] = as_utc(r.occurred_at)
    return DatasetFacts(**facts)


def _samples(trail: Sequence[ChainRecord], own: Sequence[ChainRecord]) -> list[SampleFacts]:
    samples: dict[str, dict[str, Any]] = {}
    statuses: Mapping[str, Literal["requested", "generated", "failed"]] = {
        "GenerationRequested": "requested",
        "SyntheticDataGenerated": "generated",
        "GenerationFailed": "failed",
    }
    for r in own:
        if r.event_type in statuses:
            sample = samples.setdefault(
                str(r.payload.get("synthetic_dataset_id")),
                {"synthetic_dataset_id": str(r.payload.get("synthetic_dataset_id"))},
            )
            sample.update(status=statuses[r.event_type], at=as_utc(r.occurred_at))
            if isinstance(r.payload.get("rows"), int):
                sample["rows"] = r.payload["rows"]
    for r in trail:
        if r.event_type == "SyntheticDataDownloaded":
            downloaded = samples.get(str(r.payload.get("synthetic_dataset_id")))
            if downloaded is not None:
                downloaded["downloads"] = downloaded.get("downloads", 0) + 1
    return [SampleFacts(**sample) for sample in samples.values()]


def _evaluation(r: ChainRecord, guarantee: Guarantee) -> EvaluationFacts:
    given = r.payload.get("scores")
    scores = (
        {str(k): float(v) for k, v in given.items() if isinstance(v, int | float)}
        if isinstance(given, Mapping)
        else {}
    )
    risks = [
        Risk(key=key, label=label, value=scores[key], meaning=meaning)
        for key, (label, meaning) in RISKS.items()
        if key in scores
    ]
    return EvaluationFacts(
        evaluation_id=str(r.payload.get("evaluation_id")),
        synthetic_dataset_id=str(r.payload.get("synthetic_dataset_id")),
        occurred_at=as_utc(r.occurred_at),
        scores=scores,
        risks=risks,
        consistency=_consistency(scores.get("mia_epsilon_lower_bound"), guarantee),
    )


def _consistency(bound: float | None, guarantee: Guarantee) -> str | None:
    claimed = guarantee.parameters.get("epsilon")
    if bound is None or not guarantee.in_force or claimed is None:
        return None
    if bound <= claimed:
        return (
            f"Consistent: the membership attack proves ε ≥ {number(bound)}, within the claimed "
            f"ε = {number(claimed)}."
        )
    return (
        f"CONTRADICTED: the membership attack proves ε ≥ {number(bound)}, above the claimed "
        f"ε = {number(claimed)}. The training pipeline must be checked before this data is used."
    )
