"""One line of plain words per audit record, for the trails in compliance reports."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from sds_audit.domain.chain import ChainRecord
from sds_audit.domain.records import UNRECOGNISED_KINDS

Summary = Callable[[ChainRecord], str]


def summarise(record: ChainRecord) -> str:
    """What happened, in a short sentence (the event type when nothing better is known)."""
    if record.resource_type in UNRECOGNISED_KINDS:
        return (
            f"{record.event_type} v{record.event_version}, not interpreted ({record.resource_type})"
        )
    summary = _SUMMARIES.get(record.event_type)
    try:
        return summary(record) if summary is not None else record.event_type
    except (KeyError, TypeError, ValueError):
        # A payload of an older or newer shape: the type and actor are still worth a line.
        return record.event_type


def number(value: Any, digits: int = 3) -> str:
    """A number as reports print it (``"n/a"`` when missing)."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{float(value):.{digits}g}"


def _eps_delta(p: Mapping[str, Any]) -> str:
    delta = p.get("delta")
    text = f"ε = {number(p.get('epsilon'))}"
    return text + (f", δ = {number(delta)}" if delta is not None else ", δ: the default")


def _size(size: int) -> str:
    if size < 1024:
        return f"{size:,} bytes"
    value = float(size)
    for unit in ("KB", "MB", "GB"):
        value /= 1024
        if value < 1024 or unit == "GB":
            break
    return f"{value:.1f} {unit}"


def _uploaded(r: ChainRecord) -> str:
    p = r.payload
    return (
        f"{r.actor} uploaded {p['filename']} ({_size(int(p['size_bytes']))}, "
        f"SHA-256 {str(p['sha256'])[:12]}…)"
    )


def _profiled(r: ChainRecord) -> str:
    p = r.payload
    flagged = [c["name"] for c in p.get("columns", []) if c.get("pii")]
    pii = f"; possible personal data in {len(flagged)} column(s)" if flagged else ""
    return f"profiled: {number(p['n_rows'])} rows, {number(p['n_columns'])} columns{pii}"


def _requested(r: ChainRecord) -> str:
    spec = r.payload.get("privacy")
    if not isinstance(spec, Mapping):
        return f"{r.actor} asked for a {r.payload['method']} generator WITHOUT differential privacy"
    return f"{r.actor} asked for a {r.payload['method']} generator with {_eps_delta(spec)}"


def _spent(r: ChainRecord) -> str:
    p = r.payload
    return (
        f"charged {_eps_delta(p)} (preprocessing ε = {number(p.get('preprocessing_epsilon'))}) "
        f"by the {p.get('accountant')} accountant; budget left ε = "
        f"{number(p.get('remaining_epsilon'))}"
    )


def _declared(r: ChainRecord) -> str:
    p = r.payload
    private = (
        "; the target's classes kept private" if p.get("target_classes_public") is False else ""
    )
    return (
        f"{r.actor} declared public metadata of {len(p['columns'])} column(s) "
        f"(declaration {p['declaration_version']}){private}"
    )


def _evaluated(r: ChainRecord) -> str:
    scores = r.payload.get("scores", {})
    shown = [
        f"{label} {number(scores[key])}"
        for key, label in (("fidelity", "fidelity"), ("mia_auc", "MIA AUC"))
        if key in scores
    ]
    return "evaluated" + (": " + ", ".join(shown) if shown else "")


_SUMMARIES: Final[Mapping[str, Summary]] = {
    "DatasetUploaded": _uploaded,
    "DatasetProfiled": _profiled,
    "DatasetRejected": lambda r: f"upload rejected ({r.payload['code']}): {r.payload['message']}",
    "DatasetDeleted": lambda r: f"dataset deleted ({r.payload.get('reason', 'no reason given')})",
    "PublicMetadataDeclared": _declared,
    "TrainingRequested": _requested,
    "DpConfigRejected": lambda r: "DP settings refused: " + "; ".join(r.payload["reasons"]),
    "PrivacyBudgetReserved": lambda r: (
        f"reserved {_eps_delta(r.payload)}; budget left ε = "
        f"{number(r.payload['remaining_epsilon'])}"
    ),
    "TrainingStarted": lambda r: f"training started on {r.payload['device']}",
    "TrainingProgress": lambda r: (
        f"epoch {r.payload['epoch']} of {r.payload['total_epochs']}"
        + (
            f", ε spent so far {number(r.payload['epsilon_spent'])}"
            if r.payload.get("epsilon_spent") is not None
            else ""
        )
    ),
    "ModelTrained": lambda r: (
        f"model trained in {number(r.payload['duration_s'])} s, {r.payload['epochs']} epochs"
        + (f", {_eps_delta(r.payload)}" if r.payload.get("epsilon") is not None else "")
    ),
    "PrivacyBudgetSpent": _spent,
    "PrivacyBudgetReleased": lambda r: (
        f"released ε = {number(r.payload['epsilon'])} back to the budget: {r.payload['reason']}"
    ),
    "TrainingFailed": lambda r: f"training failed ({r.payload['code']}): {r.payload['message']}",
    "TrainingCancelRequested": lambda r: f"{r.actor} asked to cancel the training",
    "TrainingCancelled": lambda _r: "training cancelled",
    "GenerationRequested": lambda r: f"{r.actor} asked for {number(r.payload['rows'])} rows",
    "SyntheticDataGenerated": lambda r: f"{number(r.payload['rows'])} synthetic rows generated",
    "GenerationFailed": lambda r: f"sampling failed ({r.payload['code']}): {r.payload['message']}",
    "EvaluationRequested": lambda r: f"{r.actor} asked for an evaluation",
    "EvaluationCompleted": _evaluated,
    "EvaluationFailed": lambda r: (
        f"evaluation failed ({r.payload['code']}): {r.payload['message']}"
    ),
    "ExplanationRequested": lambda r: f"{r.actor} asked for a {r.payload['kind']} explanation",
    "ExplanationGenerated": lambda r: f"explanation written by the {r.payload['provider']} model",
    "ExplanationFailed": lambda r: (
        f"explanation failed ({r.payload['code']}): {r.payload['message']}"
    ),
    "SyntheticDataDownloaded": lambda r: (
        f"{r.payload['user_id']} downloaded synthetic data as {r.payload['format']}"
    ),
    "AuthenticationFailed": lambda r: f"request refused: {r.payload['reason']}",
}
