"""Deterministic texts from a prompt's facts: what the offline provider answers.

No model, no key: the texts are assembled from the same redacted facts a remote provider sees,
so they quote the same numbers and give the same recommendations.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sds_llm.domain.models import Prompt

_TOPICS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("privacy", "private", "leak", "attack", "membership", "risk", "safe"), "privacy"),
    (("epsilon", "ε", "improve", "better", "should", "next", "recommend"), "next"),
    (("utility", "model", "ml", "predict", "train"), "utility"),
    (("fidelity", "quality", "column", "shape", "pair", "faithful", "correlation"), "fidelity"),
)


def _evaluation(facts: Mapping[str, Any]) -> str:
    findings: list[str] = list(facts.get("findings", []))
    recs: list[str] = list(facts.get("recommendations", []))
    rest = " ".join(findings[1:])
    text = f"{findings[0] if findings else facts.get('headline', '')} {rest}".strip()
    if recs:
        text += " Recommendations: " + " ".join(f"({i}) {r}" for i, r in enumerate(recs, 1))
    return text


def _dictionary(facts: Mapping[str, Any]) -> str:
    lines = [f"{facts.get('n_columns', 0)} columns, {facts.get('n_rows', 0)} rows."]
    for entry in facts.get("entries", []):
        pii = f"; personal data: {', '.join(entry['pii'])}" if entry.get("pii") else ""
        lines.append(
            f"- {entry['name']} ({entry['kind']}): {entry['meaning']}; "
            f"{entry['missing_fraction']:.0%} missing; sensitivity {entry['sensitivity']}{pii}."
        )
    return "\n".join(lines)


def _advice(facts: Mapping[str, Any]) -> str:
    epochs = facts.get("epochs")
    head = (
        f"For {str(facts.get('use', '')).replace('_', ' ')} on {facts.get('n_rows')} rows and "
        f"{facts.get('n_columns')} columns, train {facts.get('method')} with "
        f"ε = {facts.get('epsilon'):g} and δ = {facts.get('delta'):.0e}"
        + (f" for {epochs} epochs." if epochs else ".")
    )
    return " ".join([head, *facts.get("reasons", [])])


def _hints(facts: Mapping[str, Any]) -> str:
    hints = facts.get("hints", [])
    if not hints:
        return "No column name suggests personal data beyond what the detector reported."
    new = [h for h in hints if not h.get("already_detected")]
    lines = [
        f"{len(hints)} column name hints at personal data ({len(new)} not found by the value "
        "detector). Declare these columns as personal, drop the ones you do not need, and never "
        "declare their values as public metadata:"
    ]
    lines += [f"- {h['column']}: {h['reason']}." for h in hints]
    return "\n".join(lines)


def _question_topic(question: str) -> str:
    for words, topic in _TOPICS:
        if any(word in question for word in words):
            return topic
    return "summary"


def _chat(facts: Mapping[str, Any]) -> str:
    topic = _question_topic(str(facts.get("question", "")).lower())
    findings = list(facts.get("findings", []))
    recs = list(facts.get("recommendations", []))
    if topic == "next":
        return "What I would do next: " + " ".join(recs)
    if topic == "summary":
        return _evaluation(facts)
    picked = [f for f in findings if _topic_of(f) == topic] or findings[:1]
    return " ".join(picked)


def _topic_of(finding: str) -> str:
    lowered = finding.lower()
    if "membership" in lowered or "copies" in lowered or "closer to a training" in lowered:
        return "privacy"
    if "differential privacy" in lowered or "ε" in finding:
        return "privacy"
    if "predicts" in lowered:
        return "utility"
    return "fidelity"


RENDERERS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "evaluation": _evaluation,
    "data_dictionary": _dictionary,
    "privacy_advice": _advice,
    "pii_hints": _hints,
    "chat": _chat,
}


def render(prompt: Prompt) -> str:
    """The offline answer to ``prompt``."""
    return RENDERERS[prompt.task](prompt.facts)
