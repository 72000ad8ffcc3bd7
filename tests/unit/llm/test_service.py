"""The llm service through its real bootstrap: events, routes, and the privacy boundary.

The profile and the report in object storage are salted with marker values (a category value
and a quantile); a recording provider keeps every prompt, and none may contain a marker.
"""

from __future__ import annotations

import json
import uuid

from sds_common.bus import wait_until
from sds_common.events import DatasetDeleted, ExplanationRequested
from sds_llm.features import explanation_id
from sds_llm.parts import parts_of
from tests.unit.llm.conftest import ADMIN, MALLORY, Harness, seed
from tests.unit.llm.fakes import MARKER, MARKER_NUMBER, RecordingProvider, profile, report


async def test_auto_explanation_on_evaluation_completed(harness: Harness) -> None:
    _, evaluation_id = await seed(harness)
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
    dataset_id, _ = await seed(harness)
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
    dataset_id, evaluation_id = await seed(harness)
    path = f"/api/v1/evaluations/{evaluation_id}/explanation"
    anonymous = await harness.client.post(path)
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    assert anonymous.json()["code"] == "not_authenticated"
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
    unsized = await harness.call("POST", "/api/v1/privacy/advice", json={"n_rows": 5})
    assert unsized.status_code == 422
    assert unsized.json()["detail"] == "give dataset_id, or n_rows and n_columns"
    invalid = await harness.call("POST", "/api/v1/chat", json={"question": ""})
    assert invalid.status_code == 422
    assert invalid.json()["code"] == "validation_error"
    assert "evaluation_id: Field required" in invalid.json()["detail"]
    hints = await harness.call("POST", f"/api/v1/datasets/{dataset_id}/pii-hints")
    assert {h["column"] for h in hints.json()["hints"]} >= {"salary", "email"}


async def test_chat_streams_server_sent_events(harness: Harness) -> None:
    _, evaluation_id = await seed(harness)
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
    dataset_id, evaluation_id = await seed(harness)
    parts_of(harness.service).assistant.budget_tokens = 100  # the seed's explanation used 100
    # The same explanation again is a cache hit: no tokens, no refusal.
    cached = await harness.call("POST", f"/api/v1/evaluations/{evaluation_id}/explanation")
    assert cached.status_code == 200
    assert cached.json()["answer"]["cached"] is True
    response = await harness.call("POST", f"/api/v1/datasets/{dataset_id}/data-dictionary")
    assert response.status_code == 429
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "llm_token_budget_exhausted"
    assert "has used 100 of its 100 LLM tokens today" in problem["detail"]
    assert "resets at 00:00 UTC" in problem["detail"]
    assert 0 < int(response.headers["Retry-After"]) <= 86_400
    chat = await harness.call(
        "POST", "/api/v1/chat", json={"evaluation_id": str(evaluation_id), "question": "More?"}
    )
    assert chat.status_code == 429
    assert chat.json()["code"] == "llm_token_budget_exhausted"
    # The user's own budget (advice by size) is another budget.
    sized = await harness.call(
        "POST", "/api/v1/privacy/advice", json={"n_rows": 900, "n_columns": 3}
    )
    assert sized.status_code == 200


async def test_every_route_hides_a_projects_subjects_from_non_members(
    harness: Harness, provider: RecordingProvider
) -> None:
    dataset_id, evaluation_id = await seed(harness)
    asked = len(provider.prompts)
    routes = [
        (f"/api/v1/evaluations/{evaluation_id}/explanation", None),
        (f"/api/v1/datasets/{dataset_id}/data-dictionary", None),
        (f"/api/v1/datasets/{dataset_id}/pii-hints", None),
        ("/api/v1/privacy/advice", {"dataset_id": str(dataset_id)}),
        ("/api/v1/chat", {"evaluation_id": str(evaluation_id), "question": "Private?"}),
    ]
    for path, body in routes:
        # A global admin is not a member either: the gateway gives it no project data.
        for outsider in (MALLORY, ADMIN):
            refused = await harness.call("POST", path, user=outsider, json=body)
            assert refused.status_code == 404, (path, outsider, refused.text)
            assert refused.json()["code"] == "not_found"
        assert len(provider.prompts) == asked  # an outsider's request reached no provider
        # ... and exactly as for a subject that does not exist.
        unknown = path.replace(str(dataset_id), str(uuid.uuid4())).replace(
            str(evaluation_id), str(uuid.uuid4())
        )
        missing = await harness.call(
            "POST",
            unknown,
            json=body
            and {k: str(uuid.uuid4()) if k.endswith("_id") else v for k, v in body.items()},
        )
        assert missing.status_code == 404, unknown
        assert (await harness.call("POST", path, json=body)).status_code == 200, path
        asked = len(provider.prompts)


async def test_a_deleted_dataset_is_forgotten(harness: Harness) -> None:
    dataset_id, _ = await seed(harness)
    path = f"/api/v1/datasets/{dataset_id}/data-dictionary"
    assert (await harness.call("POST", path)).status_code == 200
    await harness.publish(DatasetDeleted(dataset_id=dataset_id, reason="owner deleted it"))

    async def forgotten() -> bool:
        return (await harness.call("POST", path)).status_code == 404

    await wait_until(forgotten)


async def test_token_and_latency_metrics_are_on_the_metrics_endpoint(harness: Harness) -> None:
    _, evaluation_id = await seed(harness)  # one provider call: 50 + 50 tokens
    await harness.call("POST", f"/api/v1/evaluations/{evaluation_id}/explanation")  # cached
    text = (await harness.client.get("/metrics")).text
    assert 'llm_tokens_total{direction="input",provider="recording"} 50.0' in text
    assert 'llm_tokens_total{direction="output",provider="recording"} 50.0' in text
    assert 'llm_requests_total{feature="evaluation",outcome="ok",provider="recording"} 1.0' in text
    assert (
        'llm_requests_total{feature="evaluation",outcome="cached",provider="recording"} 1.0' in text
    )
    assert 'llm_request_seconds_count{feature="evaluation",provider="recording"} 1.0' in text


async def test_no_marker_value_reaches_any_provider(
    harness: Harness, provider: RecordingProvider
) -> None:
    dataset_id, evaluation_id = await seed(harness)
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
