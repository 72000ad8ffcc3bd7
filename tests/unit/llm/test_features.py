"""Each feature against the recording provider and against the offline provider."""

from __future__ import annotations

import json

import pytest

from sds_llm import features
from sds_llm.adapters.providers.offline import OfflineProvider
from sds_llm.domain.budget import BudgetExceededError
from sds_llm.domain.models import ChatTurn
from tests.unit.llm.fakes import (
    MemoryLedger,
    RecordingProvider,
    assistant_for,
    columns,
    report,
)

DATASET = {"n_rows": 800, "columns": columns(), "target_column": "income"}


async def test_explanation_with_a_provider_keeps_rule_based_findings() -> None:
    provider = RecordingProvider()
    result = await features.explain_evaluation(
        report(), assistant=assistant_for(provider), project_id="p", ledger=MemoryLedger()
    )
    assert result.summary == "answer 1"
    assert result.answer.provider == "recording"
    assert not result.answer.degraded
    assert any("0.66" in f.text for f in result.findings)
    facts = provider.prompts[0].facts
    assert facts["scores"]["fidelity"] == 0.66  # type: ignore[index, call-overload]


async def test_offline_explanation_quotes_the_numbers_and_recommends() -> None:
    result = await features.explain_evaluation(
        report(), assistant=assistant_for(OfflineProvider()), project_id="p", ledger=MemoryLedger()
    )
    text = result.summary
    assert text.startswith(
        "Fidelity 0.66 is moderate: column shapes are kept well (0.71) but pairwise "
        "relationships less so (0.60)."
    )
    assert "0.93" in text  # the real-vs-real ceiling
    # 0.71 vs 0.86 keeps 58% of the real model's lift over chance (the ratio 0.83 overstated it).
    assert "58% of the real-data model's lift over chance" in text
    assert "income" in text
    assert "ε = 3" in text
    assert "Raise ε from 3 to about 6" in text
    assert "Declare public metadata" in text
    assert "workclass" in text
    assert "more epochs" in text
    assert result.answer.provider == "offline"
    # Deterministic.
    again = await features.explain_evaluation(
        report(), assistant=assistant_for(OfflineProvider()), project_id="p", ledger=MemoryLedger()
    )
    assert again.summary == text


async def test_data_dictionary() -> None:
    provider = RecordingProvider()
    result = await features.data_dictionary(
        DATASET, assistant=assistant_for(provider), project_id="p", ledger=MemoryLedger()
    )
    by_name = {e.name: e for e in result.entries}
    assert by_name["age"].meaning == "age, usually in years"
    assert by_name["email"].sensitivity == "personal"
    assert by_name["salary"].sensitivity == "sensitive"  # from the name: financial
    assert by_name["workclass"].missing_fraction == pytest.approx(0.056)
    assert result.text == "answer 1"
    offline = await features.data_dictionary(
        DATASET, assistant=assistant_for(OfflineProvider()), project_id="p", ledger=MemoryLedger()
    )
    assert "- workclass (categorical): a category; 6% missing; sensitivity public." in offline.text
    assert "4 columns, 800 rows." in offline.text


async def test_privacy_advice_for_ml_training() -> None:
    result = await features.privacy_advice(
        n_rows=800,
        columns=columns(),
        n_columns=None,
        use="ML training",
        assistant=assistant_for(OfflineProvider()),
        project_id="p",
        ledger=MemoryLedger(),
    )
    assert result.use == "ml_training"
    assert result.epsilon == 10.0  # 5 for ML, doubled for a small table
    assert result.delta == 1e-4 or result.delta < 1 / 800
    assert result.method == "aim"
    assert result.declare_public_metadata == ["workclass"]
    assert "ε = 10" in result.text
    assert "800 rows" in result.text
    provider = RecordingProvider()
    analytics = await features.privacy_advice(
        n_rows=200_000,
        columns=None,
        n_columns=12,
        use="analytics",
        assistant=assistant_for(provider),
        project_id="p",
        ledger=MemoryLedger(),
    )
    assert analytics.epsilon == 1.5
    assert provider.prompts[0].task == "privacy_advice"


async def test_pii_hints_add_to_the_detector() -> None:
    result = await features.pii_hints(
        DATASET, assistant=assistant_for(OfflineProvider()), project_id="p", ledger=MemoryLedger()
    )
    kinds = {(h.column, h.kind): h.already_detected for h in result.hints}
    assert kinds == {
        ("email", "email"): True,
        ("salary", "financial"): False,
        ("age", "quasi_identifier"): False,
    }
    assert "salary" in result.text
    assert "1 not found" not in result.text


async def test_chat_streams_from_the_provider_and_offline() -> None:
    provider = RecordingProvider()
    done: list[object] = []

    async def on_done(completion: object) -> None:
        done.append(completion)

    streamed = await features.chat(
        report(),
        question="Is it private?",
        history=[ChatTurn(role="user", content="hello")],
        assistant=assistant_for(provider),
        on_done=on_done,
    )
    text = "".join([chunk async for chunk in streamed.chunks])
    assert text == "streamed answer"
    assert provider.prompts[0].history[0].content == "hello"
    assert len(done) == 1
    offline = await features.chat(
        report(),
        question="What should I do next?",
        history=[],
        assistant=assistant_for(OfflineProvider()),
        on_done=on_done,
    )
    answer = "".join([chunk async for chunk in offline.chunks])
    assert answer.startswith("What I would do next: Declare public metadata")
    assert "Raise ε from 3 to about 6" in answer
    privacy = await features.chat(
        report(),
        question="Could an attacker find members?",
        history=[],
        assistant=assistant_for(OfflineProvider()),
        on_done=on_done,
    )
    assert "Membership inference AUC 0.51" in "".join([c async for c in privacy.chunks])


async def test_budget_refusal_and_cache_hit() -> None:
    provider = RecordingProvider(tokens=60)
    assistant = assistant_for(provider, budget=100)
    ledger = MemoryLedger()
    first = await features.explain_evaluation(
        report(), assistant=assistant, project_id="p", ledger=ledger
    )
    assert not first.answer.cached
    cached = await features.explain_evaluation(
        report(), assistant=assistant, project_id="p", ledger=ledger
    )
    assert cached.answer.cached
    assert cached.summary == first.summary
    assert len(provider.prompts) == 1  # the cache answered
    with pytest.raises(BudgetExceededError, match=r"used 120 of its 100 LLM tokens today"):
        await features.data_dictionary(DATASET, assistant=assistant, project_id="p", ledger=ledger)
    # Another project has its own budget.
    await features.data_dictionary(DATASET, assistant=assistant, project_id="q", ledger=ledger)
    metrics = assistant.metrics
    assert metrics.requests.labels("evaluation", "recording", "cached")._value.get() == 1
    assert metrics.tokens.labels("recording", "input")._value.get() == 120


def test_stored_json_is_readable() -> None:
    from sds_llm.domain.models import Answer, PiiHints  # noqa: PLC0415

    body = features.stored(
        PiiHints(hints=[], text="t", answer=Answer(provider="offline", model="m")),
        kind="pii_hints",
        subject_id="s",
    )
    assert json.loads(body)["answer"]["provider"] == "offline"
