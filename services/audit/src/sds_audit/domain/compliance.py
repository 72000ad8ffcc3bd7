"""The compliance outputs of one generator: its privacy report and its model card.

Pure: built from a ``GeneratorHistory`` and the chain's verification. The GDPR and HIPAA
sections map the recorded evidence to the provisions it bears on; they are evidence for the
people who decide (controller, counsel, a qualified expert), never the decision itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final, Literal

from sds_audit.domain.chain import VerifyResult
from sds_audit.domain.report import EvaluationFacts, GeneratorHistory, Out, TrailItem
from sds_audit.domain.trail import number

REPORT_VERSION: Final = 1
NOT_LEGAL_ADVICE: Final = (
    "This is evidence recorded by Synthetic Data Studio, mapped to the provisions it bears on. "
    "It is not legal advice. Whether the synthetic data is anonymous under the GDPR, or "
    "de-identified under HIPAA, is decided by the controller or covered entity (with counsel, "
    "or for HIPAA a qualified expert), considering all means reasonably likely to be used to "
    "identify someone."
)
TO_COMPLETE: Final = "to be completed by the controller"

Assessment = Literal["supports", "partly supports", "does not support", "evidence only"]


class Integrity(Out):
    """Whether the audit log, and this generator's records in it, are as they were written."""

    verified_at: datetime
    chain_ok: bool
    chain_detail: str
    chain_records_checked: int
    chain_checkpoints_checked: int
    chain_first_broken_seq: int | None
    trail_records: int
    trail_records_intact: int
    trail_broken_seqs: list[int]

    @property
    def ok(self) -> bool:
        """The chain verifies and every record of the trail matches its hash."""
        return self.chain_ok and not self.trail_broken_seqs


class ComplianceItem(Out):
    """One provision, the evidence bearing on it, and how far the evidence goes."""

    framework: Literal["GDPR", "HIPAA"]
    reference: str
    topic: str
    evidence: str
    assessment: Assessment


class Fact(Out):
    """One labelled line (e.g. of the Art. 30 record)."""

    label: str
    value: str


class PrivacyReport(Out):
    """The privacy report of one generator (``GET /audit/generators/{id}/privacy-report``)."""

    report_version: int = REPORT_VERSION
    generated_at: datetime
    history: GeneratorHistory
    integrity: Integrity
    compliance: list[ComplianceItem]
    record_of_processing: list[Fact]
    notice: str = NOT_LEGAL_ADVICE


class ModelCard(Out):
    """The model card of one generator (``GET /audit/generators/{id}/model-card``)."""

    report_version: int = REPORT_VERSION
    generated_at: datetime
    generator_id: str
    details: list[Fact]
    training_data: list[Fact]
    privacy: list[Fact]
    evaluation: list[Fact]
    intended_use: list[str]
    limitations: list[str]
    audit: list[Fact]


def integrity(
    result: VerifyResult, *, trail_broken: Sequence[int], trail_records: int, verified_at: datetime
) -> Integrity:
    """The integrity section from a whole-chain verification and the trail's own hashes."""
    return Integrity(
        verified_at=verified_at,
        chain_ok=result.ok,
        chain_detail=result.detail,
        chain_records_checked=result.records_checked,
        chain_checkpoints_checked=result.checkpoints_checked,
        chain_first_broken_seq=result.broken_seq,
        trail_records=trail_records,
        trail_records_intact=trail_records - len(trail_broken),
        trail_broken_seqs=list(trail_broken),
    )


def privacy_report(
    history: GeneratorHistory, *, checked: Integrity, generated_at: datetime
) -> PrivacyReport:
    """The privacy report: the history, its integrity, and the GDPR/HIPAA evidence mapping."""
    return PrivacyReport(
        generated_at=generated_at,
        history=history,
        integrity=checked,
        compliance=compliance_items(history, checked),
        record_of_processing=record_of_processing(history),
    )


def _latest(history: GeneratorHistory) -> EvaluationFacts | None:
    return history.evaluations[-1] if history.evaluations else None


def _risk_text(history: GeneratorHistory) -> str:
    latest = _latest(history)
    if latest is None or not latest.risks:
        return "No evaluation with empirical privacy checks is recorded yet."
    shown = ", ".join(f"{risk.label} {number(risk.value)}" for risk in latest.risks)
    return f"Latest evaluation ({latest.evaluation_id}): {shown}." + (
        f" {latest.consistency}" if latest.consistency else ""
    )


def _anonymisation(history: GeneratorHistory) -> tuple[str, Assessment]:
    g = history.guarantee
    epsilon = g.parameters.get("epsilon")
    if not g.in_force or epsilon is None:
        return (
            "No differential-privacy guarantee is in force for this generator: its output "
            "must be treated as personal data (at best pseudonymised). " + _risk_text(history),
            "does not support",
        )
    latest = _latest(history)
    contradicted = latest is not None and (latest.consistency or "").startswith("CONTRADICTED")
    evidence = (
        f"Every released row comes from a model trained with ({number(epsilon)}, "
        f"{number(g.parameters.get('delta'))})-differential privacy over the whole release, "
        "preprocessing included: whether any one person was in the data changes the chance of "
        f"any output by at most e^ε ≈ {number(2.718281828459045**epsilon)}. No synthetic row "
        "is a record of a real person. " + (f"{g.given} " if g.given else "") + _risk_text(history)
    )
    if contradicted:
        return evidence, "does not support"
    return evidence, "supports" if epsilon <= 1.0 else "partly supports"


def compliance_items(history: GeneratorHistory, checked: Integrity) -> list[ComplianceItem]:
    """The GDPR and HIPAA provisions the recorded evidence bears on."""
    anonymous, anonymous_assessment = _anonymisation(history)
    trail = (
        f"{checked.trail_records} audit records of this generator, each hash-chained to the one "
        f"before; the whole log ({checked.chain_records_checked:,} records, "
        f"{checked.chain_checkpoints_checked:,} signed checkpoints) "
        + ("verifies." if checked.chain_ok else f"does NOT verify: {checked.chain_detail}")
    )
    integrity_assessment: Assessment = "supports" if checked.ok else "does not support"
    pii = history.dataset.personal_data_columns if history.dataset else []
    by_design = (
        f"Method {history.training.method}; DP settings checked against the policy before any "
        "data was read, budget reserved atomically and charged by the accountant "
        f"({len(history.budget)} budget movements recorded)."
        if history.guarantee.differentially_private
        else f"Method {history.training.method} was run WITHOUT differential privacy."
    )
    return [
        ComplianceItem(
            framework="GDPR",
            reference="Art. 4(1), 4(5), Recital 26",
            topic="Anonymisation or pseudonymisation of the synthetic data",
            evidence=anonymous,
            assessment=anonymous_assessment,
        ),
        ComplianceItem(
            framework="GDPR",
            reference="Art. 25",
            topic="Data protection by design and by default",
            evidence=by_design,
            assessment="supports" if history.guarantee.differentially_private else "evidence only",
        ),
        ComplianceItem(
            framework="GDPR",
            reference="Art. 30",
            topic="Record of processing activities",
            evidence="The processing steps, data categories, recipients and security measures "
            "below are taken from the audit log; purpose, controller and data subjects are the "
            "controller's to complete.",
            assessment="partly supports",
        ),
        ComplianceItem(
            framework="GDPR",
            reference="Art. 5(2), Art. 32",
            topic="Accountability; integrity of the records",
            evidence=trail,
            assessment=integrity_assessment,
        ),
        ComplianceItem(
            framework="GDPR",
            reference="Art. 35",
            topic="Input to a data protection impact assessment",
            evidence=(
                f"Possible personal data flagged in the source: {', '.join(pii) or 'none'}. "
                + _risk_text(history)
            ),
            assessment="evidence only",
        ),
        ComplianceItem(
            framework="HIPAA",
            reference="45 CFR 164.514(b)(1)",
            topic="Expert determination support",
            evidence="For the qualified expert: the formal guarantee and its parameters, the "
            "empirical re-identification checks and the methods are in this report. "
            + _risk_text(history),
            assessment="evidence only",
        ),
        ComplianceItem(
            framework="HIPAA",
            reference="45 CFR 164.514(b)(2)",
            topic="Safe harbor",
            evidence="Not claimed: synthetic data is produced by a trained model, not by "
            "removing the 18 listed identifiers from the records.",
            assessment="does not support",
        ),
        ComplianceItem(
            framework="HIPAA",
            reference="45 CFR 164.312(b)",
            topic="Audit controls",
            evidence=trail,
            assessment=integrity_assessment,
        ),
    ]


def record_of_processing(history: GeneratorHistory) -> list[Fact]:
    """The Art. 30 record's elements the log evidences (the rest marked for the controller)."""
    dataset = history.dataset
    steps = [
        f"{item.occurred_at:%Y-%m-%d %H:%M} UTC {item.summary}" for item in _milestones(history)
    ]
    downloads = [i for i in history.trail if i.event_type == "SyntheticDataDownloaded"]
    categories = (
        f"{dataset.n_columns} columns: {', '.join(dataset.columns)}"
        if dataset and dataset.columns
        else "not profiled"
    )
    return [
        Fact(label="Controller and contact", value=TO_COMPLETE),
        Fact(label="Purposes of the processing", value=TO_COMPLETE),
        Fact(label="Categories of data subjects", value=TO_COMPLETE),
        Fact(label="Categories of personal data", value=categories),
        Fact(
            label="Possible personal data flagged",
            value=", ".join(dataset.personal_data_columns)
            if dataset and dataset.personal_data_columns
            else "none flagged",
        ),
        Fact(label="Processing operations", value="; ".join(steps) or "none recorded"),
        Fact(
            label="Recipients of the synthetic data",
            value=", ".join(sorted({item.actor for item in downloads})) or "no download recorded",
        ),
        Fact(
            label="Erasure of the source data",
            value=f"deleted {dataset.deleted_at:%Y-%m-%d %H:%M} UTC"
            if dataset and dataset.deleted_at
            else "no deletion recorded",
        ),
        Fact(
            label="Technical measures",
            value="differential privacy (see the guarantee); hash-chained audit log with signed "
            "checkpoints; signed-request authentication",
        ),
    ]


_MILESTONES: Final = frozenset(
    {
        "DatasetUploaded",
        "DatasetProfiled",
        "DatasetDeleted",
        "PublicMetadataDeclared",
        "TrainingRequested",
        "ModelTrained",
        "TrainingFailed",
        "TrainingCancelled",
        "DpConfigRejected",
        "SyntheticDataGenerated",
        "EvaluationCompleted",
        "SyntheticDataDownloaded",
    }
)


def _milestones(history: GeneratorHistory) -> list[TrailItem]:
    return [item for item in history.trail if item.event_type in _MILESTONES]
