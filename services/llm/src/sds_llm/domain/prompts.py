"""The only way to build a :class:`Prompt`: from redacted facts, one builder per feature.

Builders take the outputs of :mod:`sds_llm.domain.redaction` and of the pure rules
(:mod:`assessment`, :mod:`dictionary`, :mod:`advice`), never reports, profiles or rows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from pydantic import JsonValue

from sds_llm.domain.advice import Advice
from sds_llm.domain.assessment import Assessment
from sds_llm.domain.models import ChatTurn, DictionaryEntry, JsonFacts, PiiHint, Prompt
from sds_llm.domain.redaction import question as clean_question

_SYSTEM = (
    "You are the assistant of Synthetic Data Studio, which makes differentially private "
    "synthetic tables. You see only schema facts and aggregate scores, never data values. "
    "Use only the numbers given, quote them, do not invent values, write plain English for a "
    "data owner who is not a statistician. "
)
#: How an evaluation is read; the rule-based findings in the facts already follow these rules.
_JUDGE = (
    "Read every score against its references in the facts: the independent-columns baseline "
    "(baseline_* scores: each column sampled on its own, the floor a model must clear to add "
    "anything) and the ceiling (fidelity_reference, a fresh real sample; utility_trtr_*, a model "
    "trained on real rows). Never call a score good, high or strong when it is at or below its "
    "baseline. A ROC-AUC within utility.chance_band of 0.5, or an R² of 0 or less, is chance: "
    "say there is no utility, not a percentage of the real model. If validity_flags lists "
    "columns, say first which columns are broken and how. Recommend only settings that exist "
    "for the method in the facts (aim and mst have no epochs, batch size or learning rate; "
    "their levers are declared public metadata, ε and, for aim, the declared target); with no "
    "method given, recommend no method-specific setting. "
)
MAX_HISTORY = 10


def _user(request: str, facts: JsonFacts) -> str:
    return f"{request}\n\nFacts (JSON):\n{json.dumps(facts, sort_keys=True, ensure_ascii=False)}"


def _assessed(facts: JsonFacts, assessment: Assessment) -> JsonFacts:
    return {
        **facts,
        "headline": assessment.headline,
        "findings": [f.text for f in assessment.findings],
        "recommendations": list(assessment.recommendations),
    }


def explanation(facts: JsonFacts, assessment: Assessment) -> Prompt:
    """Ask for a short summary of an evaluation (findings and advice are given as facts)."""
    full = _assessed(facts, assessment)
    return Prompt(
        task="evaluation",
        system=_SYSTEM + _JUDGE + "Answer in at most 150 words, one paragraph.",
        user=_user(
            "Summarise this evaluation of a synthetic table: how faithful it is, how useful for "
            "machine learning, how private, and the most important next step.",
            full,
        ),
        facts=full,
    )


def data_dictionary(facts: JsonFacts, entries: Sequence[DictionaryEntry]) -> Prompt:
    """Ask for a data dictionary of a dataset's schema."""
    full: JsonFacts = {
        **facts,
        "entries": [e.model_dump(mode="json", exclude={"answer"}) for e in entries],
    }
    return Prompt(
        task="data_dictionary",
        system=_SYSTEM + "Write one line per column: name, type, likely meaning, sensitivity.",
        user=_user("Write a data dictionary for this table.", full),
        facts=full,
    )


def privacy_advice(advice: Advice, *, n_rows: int, n_columns: int) -> Prompt:
    """Ask to explain suggested privacy settings."""
    full: JsonFacts = {
        "n_rows": n_rows,
        "n_columns": n_columns,
        "use": advice.use,
        "epsilon": advice.epsilon,
        "delta": advice.delta,
        "method": advice.method,
        "epochs": advice.epochs,
        "declare_public_metadata": list[JsonValue](advice.declare_public_metadata),
        "reasons": list[JsonValue](advice.reasons),
    }
    return Prompt(
        task="privacy_advice",
        system=_SYSTEM + "Explain the suggested settings and the trade-off in under 150 words.",
        user=_user("Explain these privacy settings for the intended use.", full),
        facts=full,
    )


def pii_hints(hints: Sequence[PiiHint]) -> Prompt:
    """Ask to explain name-based PII hints."""
    full: JsonFacts = {"hints": [h.model_dump(mode="json") for h in hints]}
    return Prompt(
        task="pii_hints",
        system=_SYSTEM + "Explain which columns need care and what to do, in under 120 words.",
        user=_user("Explain these possible personal-data columns.", full),
        facts=full,
    )


def chat(
    facts: JsonFacts, assessment: Assessment, *, question: str, history: Sequence[ChatTurn]
) -> Prompt:
    """A chat turn about one evaluation."""
    full = {**_assessed(facts, assessment), "question": clean_question(question)}
    turns = tuple(
        ChatTurn(role=t.role, content=clean_question(t.content)) for t in history[-MAX_HISTORY:]
    )
    return Prompt(
        task="chat",
        system=_SYSTEM
        + _JUDGE
        + "Answer the user's question about this evaluation in under 150 words.",
        user=_user(f"Question: {full['question']}", full),
        facts=full,
        history=turns,
    )
