"""The features: each loads facts, redacts them, builds ONE prompt and asks the assistant.

Reports are read from object storage by the key an event gave; dataset schemas come from this
service's own table (filled from ``DatasetProfiled``). The profile JSON is never read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID, uuid5

from sds_common.storage import ObjectStore
from sds_llm.adapters.providers import Streamed
from sds_llm.adapters.repository import UsageLedger
from sds_llm.assistant import Assistant, OverBudget, answer_of
from sds_llm.domain import advice, assessment, dictionary, prompts, redaction
from sds_llm.domain.models import (
    ChatTurn,
    DataDictionary,
    Explanation,
    PiiHints,
    PrivacyAdvice,
)

EXPLANATIONS = UUID("6f1d3c1e-5b7a-4d0e-9a51-2c2a8f0e7b11")


def explanation_id(kind: str, subject_id: UUID | str) -> UUID:
    """The id of the automatic explanation of a subject (the same for a redelivered event)."""
    return uuid5(EXPLANATIONS, f"{kind}:{subject_id}")


def explanation_key(explanation: UUID) -> str:
    """Where an explanation's JSON is stored."""
    return f"explanations/{explanation}.json"


async def load_report(storage: ObjectStore, report_key: str) -> Mapping[str, Any]:
    """The evaluator's report JSON."""
    data = json.loads(await storage.get_bytes(report_key))
    if not isinstance(data, dict):
        raise TypeError(f"report {report_key} is not a JSON object")
    return data


async def explain_evaluation(
    report: Mapping[str, Any],
    *,
    assistant: Assistant,
    project_id: str | None,
    ledger: UsageLedger,
    over_budget: OverBudget = "refuse",
) -> Explanation:
    """A plain-language summary, findings and recommendations of an evaluation report."""
    facts = redaction.evaluation_facts(report)
    assessed = assessment.assess(facts)
    completion, cached = await assistant.complete(
        prompts.explanation(facts, assessed),
        project_id=project_id,
        ledger=ledger,
        over_budget=over_budget,
    )
    return Explanation(
        summary=completion.text,
        findings=assessed.findings,
        recommendations=assessed.recommendations,
        answer=answer_of(completion, cached=cached),
    )


def _dataset_facts(dataset: Mapping[str, Any]) -> dict[str, Any]:
    return redaction.dataset_facts(
        n_rows=int(dataset["n_rows"]),
        columns=list(dataset["columns"]),
        target_column=dataset.get("target_column"),
    )


async def data_dictionary(
    dataset: Mapping[str, Any],
    *,
    assistant: Assistant,
    project_id: str | None,
    ledger: UsageLedger,
    over_budget: OverBudget = "refuse",
) -> DataDictionary:
    """A data dictionary from a dataset's schema (``dataset``: a row of ``llm_datasets``)."""
    facts = _dataset_facts(dataset)
    entries = dictionary.entries(facts["columns"])
    completion, cached = await assistant.complete(
        prompts.data_dictionary(facts, entries),
        project_id=project_id,
        ledger=ledger,
        over_budget=over_budget,
    )
    return DataDictionary(
        entries=entries, text=completion.text, answer=answer_of(completion, cached=cached)
    )


async def privacy_advice(
    *,
    n_rows: int,
    columns: Sequence[Mapping[str, Any]] | None,
    n_columns: int | None,
    use: str,
    assistant: Assistant,
    project_id: str | None,
    ledger: UsageLedger,
    over_budget: OverBudget = "refuse",
) -> PrivacyAdvice:
    """Suggested ε, δ, method and epochs for a use, from counts and (optionally) the schema."""
    schema = redaction.schema_facts(columns or [])
    categorical = [
        str(c["name"]) for c in schema if isinstance(c, dict) and c["kind"] == "categorical"
    ]
    width = len(schema) if columns else int(n_columns or 0)
    suggested = advice.advise(
        n_rows=n_rows, n_columns=width, use=redaction.use_of(use), categorical_columns=categorical
    )
    completion, cached = await assistant.complete(
        prompts.privacy_advice(suggested, n_rows=n_rows, n_columns=width),
        project_id=project_id,
        ledger=ledger,
        over_budget=over_budget,
    )
    return PrivacyAdvice(
        use=suggested.use,
        epsilon=suggested.epsilon,
        delta=suggested.delta,
        method=suggested.method,
        epochs=suggested.epochs,
        declare_public_metadata=suggested.declare_public_metadata,
        reasons=suggested.reasons,
        text=completion.text,
        answer=answer_of(completion, cached=cached),
    )


async def pii_hints(
    dataset: Mapping[str, Any],
    *,
    assistant: Assistant,
    project_id: str | None,
    ledger: UsageLedger,
    over_budget: OverBudget = "refuse",
) -> PiiHints:
    """Column-name-based PII hints that add to the datasets service's value detector."""
    facts = _dataset_facts(dataset)
    found = dictionary.hints(facts["columns"])
    completion, cached = await assistant.complete(
        prompts.pii_hints(found), project_id=project_id, ledger=ledger, over_budget=over_budget
    )
    return PiiHints(hints=found, text=completion.text, answer=answer_of(completion, cached=cached))


async def chat(
    report: Mapping[str, Any],
    *,
    question: str,
    history: Sequence[ChatTurn],
    assistant: Assistant,
    on_done: Any,
) -> Streamed:
    """Stream an answer to a question about an evaluation (budget checked by the caller)."""
    facts = redaction.evaluation_facts(report)
    prompt = prompts.chat(facts, assessment.assess(facts), question=question, history=history)
    return await assistant.stream(prompt, on_done=on_done)


def stored(result: Any, *, kind: str, subject_id: UUID | str) -> bytes:
    """The JSON stored under ``explanations/{id}.json``."""
    body = {"kind": kind, "subject_id": str(subject_id), **result.model_dump(mode="json")}
    return json.dumps(body, ensure_ascii=False, indent=2).encode()
