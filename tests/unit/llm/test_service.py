"""The llm service through its real bootstrap: events, routes, and the privacy boundary.

The profile and the report in object storage are salted with marker values (a category value
and a quantile); a recording provider keeps every prompt, and none may contain a marker.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from sds_common.auth import signed_headers
from sds_common.bus import MemoryBroker, OutgoingMessage, wait_until
from sds_common.events import (
    DatasetProfiled,
    DatasetUploaded,
    Envelope,
    EvaluationCompleted,
    Event,
    ExplanationRequested,
)
from sds_common.events.datasets import ColumnSummary
from sds_common.runtime.service import Service, create_app
from sds_common.settings import Settings
from sds_common.storage import LocalObjectStore
from sds_llm.bootstrap import bootstrap
from sds_llm.features import explanation_id
from sds_llm.parts import parts_of
from tests.unit.llm.fakes import (
    MARKER,
    MARKER_NUMBER,
    RecordingProvider,
    columns,
    no_sleep,
    profile,
    report,
)

SECRET = "llm-test-secret"
PROJECT = "proj-1"
ALICE = ("alice", "alice@example.com", "user")
MALLORY = ("mallory", "mallory@example.com", "user")


class Harness:
    def __init__(self, service: Service, client: httpx.AsyncClient, broker: MemoryBroker) -> None:
        self.service, self.client, self.broker = service, client, broker

    async def publish(self, event: Event, *, actor: str = "test") -> None:
        envelope = Envelope.wrap(event, actor=actor, project_id=PROJECT)
        await self.broker.send_batch(
            [
                OutgoingMessage(
                    topic=self.service.settings.topic(event.topic),
                    key=envelope.key.encode(),
                    value=envelope.to_bytes(),
                )
            ]
        )

    def emitted(self, event_type: str) -> list[Envelope]:
        envelopes = [Envelope.from_bytes(m.value) for m in self.broker.messages("llm")]
        return [e for e in envelopes if e.type == event_type]

    async def call(
        self, method: str, path: str, *, user: tuple[str, str, str] = ALICE, **kwargs: Any
    ) -> httpx.Response:
        headers = signed_headers(
            SECRET, method=method, path=path, user_id=user[0], email=user[1], role=user[2]
        )
        return await self.client.request(method, path, headers=headers, **kwargs)


@pytest.fixture
def provider() -> RecordingProvider:
    return RecordingProvider()


@pytest.fixture
async def harness(tmp_path: Path, provider: RecordingProvider) -> AsyncIterator[Harness]:
    from sds_llm.adapters.providers import RetryPolicy  # noqa: PLC0415

    settings = Settings(data_dir=tmp_path)
    broker = MemoryBroker()
    storage = LocalObjectStore(tmp_path / "objects")
    await broker.start()
    await storage.start()
    service = bootstrap(
        settings,
        provider=provider,
        retry=RetryPolicy(max_retries=0),
        secrets=(SECRET,),
        broker=broker,
        storage=storage,
    )
    parts_of(service).assistant.provider._sleep = no_sleep
    app = create_app(service)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://llm") as client:
            yield Harness(service, client, broker)
    await broker.stop()
    await storage.close()


async def _seed(h: Harness) -> tuple[uuid.UUID, uuid.UUID]:
    """A dataset and an evaluation, with marker-salted objects in storage."""
    storage = h.service.storage
    dataset_id, evaluation_id = uuid.uuid4(), uuid.uuid4()
    await storage.put_bytes(f"datasets/{dataset_id}/profile.json", json.dumps(profile()).encode())
    await storage.put_bytes(
        f"evaluations/{evaluation_id}/report.json", json.dumps(report()).encode()
    )
    await h.publish(
        DatasetUploaded(
            dataset_id=dataset_id,
            name="adult",
            object_key="uploads/x.csv",
            filename="x.csv",
            format="csv",
            size_bytes=10,
            sha256="0" * 64,
        ),
        actor="alice",
    )
    await h.publish(
        DatasetProfiled(
            dataset_id=dataset_id,
            n_rows=800,
            n_columns=4,
            columns=tuple(ColumnSummary(**c) for c in columns()),
            profile_key=f"datasets/{dataset_id}/profile.json",
            table_key="t",
            train_key="tr",
            holdout_key="h",
            holdout_rows=200,
            target_column="income",
        ),
        actor="datasets",
    )
    await h.publish(
        EvaluationCompleted(
            evaluation_id=evaluation_id,
            synthetic_dataset_id=uuid.uuid4(),
            generator_id=uuid.uuid4(),
            scores=report()["scores"],
            report_key=f"evaluations/{evaluation_id}/report.json",
            html_report_key="r.html",
        ),
        actor="evaluator",
    )

    async def explained() -> bool:
        return bool(h.emitted("ExplanationGenerated"))

    await wait_until(explained)
    return dataset_id, evaluation_id


async def test_auto_explanation_on_evaluation_completed(harness: Harness) -> None:
    _, evaluation_id = await _seed(harness)
    [envelope] = harness.emitted("ExplanationGenerated")
    payload = envelope.payload
    expected = explanation_id("evaluation", evaluation_id)
    assert payload["explanation_id"] == str(expected)
    assert payload["object_key"] == f"explanations/{expected}.json"
    assert payload["provider"] == "recording"
    assert payload["degraded"] is False
    stored = json.loads(await harness.service.storage.get_bytes(f"explanations/{expected}.json"))
    assert stored["kind"] == "evaluation"
    assert stored["summary"] == "answer 1"
    assert stored["recommendations"]


async def test_explanation_requested_event(harness: Harness) -> None:
    dataset_id, _ = await _seed(harness)
    requested = uuid.uuid4()
    await harness.publish(
        ExplanationRequested(
            explanation_id=requested, kind="data_dictionary", subject_id=dataset_id
        )
    )

    async def done() -> bool:
        return len(harness.emitted("ExplanationGenerated")) == 2

    await wait_until(done)
    stored = json.loads(await harness.service.storage.get_bytes(f"explanations/{requested}.json"))
    assert {e["name"] for e in stored["entries"]} == {"age", "workclass", "email", "salary"}


async def test_routes_authenticate_and_authorise(harness: Harness) -> None:
    dataset_id, evaluation_id = await _seed(harness)
    path = f"/api/v1/evaluations/{evaluation_id}/explanation"
    assert (await harness.client.post(path)).status_code == 401
    assert (await harness.call("POST", path, user=MALLORY)).status_code == 404
    response = await harness.call("POST", path)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["answer"]["provider"] == "recording"
    assert any("0.66" in f["text"] for f in body["findings"])
    dictionary = await harness.call("POST", f"/api/v1/datasets/{dataset_id}/data-dictionary")
    assert dictionary.status_code == 200
    advice = await harness.call(
        "POST", "/api/v1/privacy/advice", json={"dataset_id": str(dataset_id), "use": "ML training"}
    )
    assert advice.status_code == 200
    assert advice.json()["use"] == "ml_training"
    sized = await harness.call(
        "POST", "/api/v1/privacy/advice", json={"n_rows": 50_000, "n_columns": 8, "use": "sharing"}
    )
    assert sized.json()["epsilon"] == 1.0
    hints = await harness.call("POST", f"/api/v1/datasets/{dataset_id}/pii-hints")
    assert {h["column"] for h in hints.json()["hints"]} >= {"salary", "email"}


async def test_chat_streams_server_sent_events(harness: Harness) -> None:
    _, evaluation_id = await _seed(harness)
    response = await harness.call(
        "POST", "/api/v1/chat", json={"evaluation_id": str(evaluation_id), "question": "Why?"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    text = response.text
    assert text.startswith("event: meta\ndata: ")
    assert '"provider": "recording"' in text
    assert 'data: {"text": "streamed "}' in text
    assert text.endswith("event: done\ndata: {}\n\n")


async def test_token_budget_refuses_with_a_clear_message(
    harness: Harness, provider: RecordingProvider
) -> None:
    dataset_id, evaluation_id = await _seed(harness)
    parts_of(harness.service).assistant.budget_tokens = 100  # the seed's explanation used 100
    # The same explanation again is a cache hit: no tokens, no refusal.
    cached = await harness.call("POST", f"/api/v1/evaluations/{evaluation_id}/explanation")
    assert cached.status_code == 200
    assert cached.json()["answer"]["cached"] is True
    response = await harness.call("POST", f"/api/v1/datasets/{dataset_id}/data-dictionary")
    assert response.status_code == 429
    assert "has used 100 of its 100 LLM tokens today" in response.json()["detail"]


async def test_no_marker_value_reaches_any_provider(
    harness: Harness, provider: RecordingProvider
) -> None:
    dataset_id, evaluation_id = await _seed(harness)
    for kind in ("data_dictionary", "pii_hints", "privacy_advice", "evaluation"):
        subject = evaluation_id if kind == "evaluation" else dataset_id
        await harness.publish(
            ExplanationRequested(explanation_id=uuid.uuid4(), kind=kind, subject_id=subject)
        )

    async def all_done() -> bool:
        return len(harness.emitted("ExplanationGenerated")) == 5

    await wait_until(all_done)
    for path in (
        f"/api/v1/evaluations/{evaluation_id}/explanation",
        f"/api/v1/datasets/{dataset_id}/data-dictionary",
        f"/api/v1/datasets/{dataset_id}/pii-hints",
    ):
        assert (await harness.call("POST", path)).status_code == 200
    await harness.call("POST", "/api/v1/privacy/advice", json={"dataset_id": str(dataset_id)})
    chat = await harness.call(
        "POST",
        "/api/v1/chat",
        json={"evaluation_id": str(evaluation_id), "question": "Tell me the rare categories"},
    )
    assert chat.status_code == 200
    tasks = {p.task for p in provider.prompts}
    assert tasks == {"evaluation", "data_dictionary", "pii_hints", "privacy_advice", "chat"}
    for prompt in provider.prompts:
        sent = prompt.all_text() + json.dumps(prompt.facts)
        assert MARKER not in sent, prompt.task
        assert MARKER_NUMBER not in sent, prompt.task
        assert "987654" not in sent, prompt.task


def test_redaction_drops_profile_values_even_when_given_a_profile() -> None:
    from sds_llm.domain import redaction  # noqa: PLC0415

    facts = redaction.dataset_facts(n_rows=800, columns=profile()["columns"], target_column=None)
    text = json.dumps(facts)
    assert MARKER not in text
    assert "987654" not in text
    assert facts["columns"][2] == {  # type: ignore[index]
        "name": "email",
        "kind": "identifier",
        "missing_fraction": 0.0,
        "cardinality": "many",
        "pii": ["email"],
    }
    evaluation = json.dumps(redaction.evaluation_facts(report()))
    assert MARKER not in evaluation
    assert "987654" not in evaluation
