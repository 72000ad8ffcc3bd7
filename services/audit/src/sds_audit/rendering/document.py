"""A neutral document (sections of paragraphs, facts and tables) built from a report.

The privacy report and the model card are turned into a ``Document`` once; ``html`` and
``pdf`` render any document, so both outputs say exactly the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sds_audit.domain.compliance import Fact, ModelCard, PrivacyReport
from sds_audit.domain.report import EvaluationFacts
from sds_audit.domain.trail import number

Tone = Literal["body", "note", "good", "warn"]


@dataclass(frozen=True)
class Para:
    """A paragraph; ``tone`` colours it (a warning stands out in both renderings)."""

    text: str
    tone: Tone = "body"


@dataclass(frozen=True)
class Facts:
    """Label → value lines."""

    rows: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Grid:
    """A table with a header row."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


Block = Para | Facts | Grid


@dataclass(frozen=True)
class Section:
    """A titled part of the document."""

    title: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Document:
    """What a renderer needs: title, subtitle, sections, footer; ``keywords`` go in metadata."""

    title: str
    subtitle: str
    sections: tuple[Section, ...]
    footer: str
    keywords: tuple[str, ...] = ()


def _facts(facts: list[Fact]) -> Facts:
    return Facts(rows=tuple((f.label, f.value) for f in facts))


def _time(value: object) -> str:
    return f"{value:%Y-%m-%d %H:%M:%S}" if value is not None else "n/a"


def _evaluation(e: EvaluationFacts) -> list[Block]:
    blocks: list[Block] = [
        Para(
            f"Evaluation {e.evaluation_id} of sample {e.synthetic_dataset_id}, "
            f"{_time(e.occurred_at)} UTC."
        ),
        Grid(
            header=("Check", "Value", "What it means"),
            rows=tuple((r.label, number(r.value), r.meaning) for r in e.risks),
        ),
    ]
    quality = [
        (k, number(v)) for k, v in sorted(e.scores.items()) if k in ("fidelity", "utility_ratio")
    ]
    if quality:
        blocks.append(Facts(rows=tuple(quality)))
    if e.consistency:
        tone: Tone = "warn" if e.consistency.startswith("CONTRADICTED") else "good"
        blocks.append(Para(e.consistency, tone))
    return blocks


def privacy_report_document(report: PrivacyReport) -> Document:
    """The privacy report as a document."""
    h, g, checked = report.history, report.history.guarantee, report.integrity
    banner = (
        Para("The audit log verifies: these records are as they were written.", "good")
        if checked.ok
        else Para(f"THE AUDIT LOG DOES NOT VERIFY: {checked.chain_detail}", "warn")
    )
    guarantee: list[Block] = [Para(g.meaning, "body" if g.differentially_private else "warn")]
    if g.explained:
        guarantee.append(
            Grid(
                header=("Parameter", "Value", "What it means"),
                rows=tuple((p.label, p.value, p.meaning) for p in g.explained),
            )
        )
    if g.requested:
        asked = ", ".join(f"{k} = {v}" for k, v in g.requested.items())
        guarantee.append(Para(f"Asked for: {asked}.", "note"))
    if g.given:
        guarantee.append(Para(g.given))
    if h.public_metadata:
        guarantee.append(
            Grid(
                header=("Declared in", "By", "When (UTC)", "What is public"),
                rows=tuple(
                    (
                        d.source + (f" {d.version}" if d.version is not None else ""),
                        d.declared_by or "not recorded",
                        _time(d.declared_at),
                        "; ".join(d.columns) or "column kinds only",
                    )
                    for d in h.public_metadata
                ),
            )
        )
    budget = Grid(
        header=("When (UTC)", "Entry", "ε", "δ", "Budget left (ε)", "Reason"),
        rows=tuple(
            (
                _time(b.occurred_at),
                b.entry,
                number(b.epsilon),
                number(b.delta),
                number(b.remaining_epsilon),
                b.reason or "",
            )
            for b in h.budget
        ),
    )
    evaluations: list[Block] = [block for e in h.evaluations for block in _evaluation(e)] or [
        Para("No evaluation recorded.", "note")
    ]
    samples = Grid(
        header=("Sample", "Status", "Rows", "When (UTC)", "Downloads"),
        rows=tuple(
            (s.synthetic_dataset_id, s.status, number(s.rows), _time(s.at), str(s.downloads))
            for s in h.samples
        ),
    )
    dataset = h.dataset
    data = (
        Facts(
            rows=(
                ("Dataset", f"{dataset.name} ({dataset.dataset_id})"),
                (
                    "File",
                    f"{dataset.filename}, {number(dataset.size_bytes)} bytes, "
                    f"SHA-256 {dataset.sha256}",
                ),
                ("Uploaded", f"{_time(dataset.uploaded_at)} UTC by {dataset.uploaded_by}"),
                (
                    "Rows and columns",
                    f"{number(dataset.n_rows)} rows, {number(dataset.n_columns)} columns",
                ),
                (
                    "Possible personal data",
                    ", ".join(dataset.personal_data_columns) or "none flagged",
                ),
            )
        )
        if dataset is not None
        else Facts(rows=(("Dataset", "not recorded"),))
    )
    compliance = Grid(
        header=("Framework", "Provision", "Topic", "Evidence", "Assessment"),
        rows=tuple(
            (c.framework, c.reference, c.topic, c.evidence, c.assessment) for c in report.compliance
        ),
    )
    trail = Grid(
        header=("Seq", "When (UTC)", "Event", "Actor", "What happened", "Hash"),
        rows=tuple(
            (str(i.seq), _time(i.occurred_at), i.event_type, i.actor, i.summary, i.hash[:16] + "…")
            for i in h.trail
        ),
    )
    integrity = Facts(
        rows=(
            ("Verified", f"{_time(checked.verified_at)} UTC"),
            (
                "Whole log",
                f"{'verifies' if checked.chain_ok else 'BROKEN'}: {checked.chain_detail}",
            ),
            (
                "Records and signed checkpoints checked",
                f"{checked.chain_records_checked:,}, {checked.chain_checkpoints_checked:,}",
            ),
            (
                "This generator's records intact",
                f"{checked.trail_records_intact} of {checked.trail_records}",
            ),
        )
    )
    t = h.training
    return Document(
        title=f"Privacy report: generator {h.generator_id}",
        subtitle=(
            f"{t.method or 'unknown method'} · training {t.status} · "
            f"generated {_time(report.generated_at)} UTC"
        ),
        sections=(
            Section("Integrity of this report", (banner,)),
            Section("The privacy guarantee", tuple(guarantee)),
            Section(
                "Privacy budget",
                (budget,) if h.budget else (Para("No budget movement recorded.", "note"),),
            ),
            Section("Evaluation: empirical privacy checks", tuple(evaluations)),
            Section("Samples", (samples,) if h.samples else (Para("No sample drawn.", "note"),)),
            Section("Training data", (data,)),
            Section(
                "GDPR and HIPAA: evidence, not legal advice",
                (Para(report.notice, "note"), compliance),
            ),
            Section("Record of processing (GDPR Art. 30)", (_facts(report.record_of_processing),)),
            Section("Audit trail, in log order", (trail,)),
            Section("Verification", (integrity,)),
        ),
        footer=f"Synthetic Data Studio privacy report v{report.report_version}. {report.notice}",
        keywords=(h.generator_id, "privacy report", "differential privacy"),
    )


def model_card_document(card: ModelCard) -> Document:
    """The model card as a document."""
    return Document(
        title=f"Model card: generator {card.generator_id}",
        subtitle=f"generated {_time(card.generated_at)} UTC",
        sections=(
            Section("Model details", (_facts(card.details),)),
            Section("Training data", (_facts(card.training_data),)),
            Section("Privacy", (_facts(card.privacy),)),
            Section("Evaluation", (_facts(card.evaluation),)),
            Section("Intended use", tuple(Para(text) for text in card.intended_use)),
            Section("Limitations", tuple(Para(text) for text in card.limitations)),
            Section("Audit", (_facts(card.audit),)),
        ),
        footer=f"Synthetic Data Studio model card v{card.report_version}.",
        keywords=(card.generator_id, "model card"),
    )
