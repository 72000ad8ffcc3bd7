"""The model card of one generator: what it is, what it learnt from, how private, how good.

Pure: built from the same ``GeneratorHistory`` as the privacy report, in the sections of a
model card (details, training data, privacy, evaluation, intended use, limitations).
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sds_audit.domain.compliance import Fact, Integrity, ModelCard
from sds_audit.domain.declared import declared_summary
from sds_audit.domain.report import GeneratorHistory
from sds_audit.domain.trail import number

INTENDED_USE: Final = (
    "Producing synthetic tables with the statistics of the training data, for analytics, "
    "software testing and machine-learning development where the original may not be used.",
    "Sharing inside or outside the organisation only as far as the privacy guarantee and the "
    "controller's assessment allow (see the privacy report).",
)
LIMITATIONS: Final = (
    "Differential privacy blurs rare categories, outliers and small groups: analyses of them "
    "on synthetic data are unreliable.",
    "Relationships between columns are only as good as the evaluation shows; relationships "
    "the evaluation did not measure may be distorted.",
    "Synthetic rows are not real people: never use them to take decisions about individuals.",
)


def model_card(
    history: GeneratorHistory, *, checked: Integrity, generated_at: datetime
) -> ModelCard:
    """The model card of the generator ``history`` describes."""
    training, dataset, guarantee = history.training, history.dataset, history.guarantee
    details = [
        Fact(label="Generator", value=history.generator_id),
        Fact(label="Method", value=training.method or "unknown"),
        Fact(
            label="Status",
            value=training.status + (f" ({training.detail})" if training.detail else ""),
        ),
        Fact(label="Requested by", value=f"{training.requested_by or 'unknown'}"),
        Fact(label="Project", value=history.project_id or "none"),
    ]
    if training.finished_at is not None:
        details.append(Fact(label="Finished", value=f"{training.finished_at:%Y-%m-%d %H:%M} UTC"))
    if training.epochs is not None:
        details.append(
            Fact(
                label="Training",
                value=f"{training.epochs} epochs in {number(training.duration_s)} s on "
                f"{training.device or 'an unrecorded device'}",
            )
        )
    if training.params:
        shown = ", ".join(f"{k} = {v}" for k, v in sorted(training.params.items()))
        details.append(Fact(label="Parameters", value=shown))
    data = (
        [
            Fact(
                label="Dataset",
                value=f"{dataset.name or dataset.dataset_id} ({dataset.dataset_id})",
            ),
            Fact(label="File", value=f"{dataset.filename}, SHA-256 {dataset.sha256}"),
            Fact(
                label="Rows and columns",
                value=f"{number(dataset.n_rows)} rows, {number(dataset.n_columns)} columns",
            ),
            Fact(
                label="Possible personal data",
                value=", ".join(dataset.personal_data_columns) or "none flagged",
            ),
            Fact(
                label="Declared public metadata (no ε spent)",
                value=declared_summary(history.public_metadata),
            ),
        ]
        if dataset is not None
        else [Fact(label="Dataset", value="not recorded")]
    )
    privacy = [
        Fact(
            label="Differentially private",
            value="yes" if guarantee.differentially_private else "NO",
        )
    ]
    privacy += [Fact(label=p.label, value=p.value) for p in guarantee.explained]
    privacy.append(Fact(label="Meaning", value=guarantee.meaning))
    if guarantee.given:
        privacy.append(Fact(label="Holds given", value=guarantee.given))
    evaluation = [
        Fact(label=f"{e.evaluation_id}: {key}", value=number(value))
        for e in history.evaluations
        for key, value in sorted(e.scores.items())
    ] or [Fact(label="Evaluations", value="none recorded")]
    audit = [
        Fact(
            label="Audit records",
            value=f"{len(history.trail)} (seq {history.trail[0].seq} to {history.trail[-1].seq})",
        ),
        Fact(
            label="Audit log verifies", value="yes" if checked.ok else f"NO: {checked.chain_detail}"
        ),
        Fact(label="Samples drawn", value=str(len(history.samples))),
    ]
    return ModelCard(
        generated_at=generated_at,
        generator_id=history.generator_id,
        details=details,
        training_data=data,
        privacy=privacy,
        evaluation=evaluation,
        intended_use=list(INTENDED_USE),
        limitations=list(LIMITATIONS),
        audit=audit,
    )
