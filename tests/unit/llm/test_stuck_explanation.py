"""No explanation waits forever (issue 16): ``ExplanationFailed`` says it will not come."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sds_common.events import EvaluationCompleted, topics
from sds_llm import features
from sds_llm.bootstrap import bootstrap
from tests.support.services import raw_envelope, running_service


async def test_an_unreadable_explanation_request_fails_the_explanation(tmp_path: Path) -> None:
    async with running_service(bootstrap, tmp_path) as llm:
        explanation_id, subject_id = str(uuid.uuid4()), str(uuid.uuid4())
        payload = {
            "explanation_id": explanation_id,
            "kind": "evaluation",
            "subject_id": subject_id,
            "tone": "cheerful",  # no such field
        }
        await llm.send_raw(
            topics.LLM,
            raw_envelope("ExplanationRequested", payload, key=explanation_id),
            key=explanation_id,
        )
        failed = await llm.until_published(topics.LLM, "ExplanationFailed")
        assert failed.payload == {
            "explanation_id": explanation_id,
            "kind": "evaluation",
            "subject_id": subject_id,
            "code": "invalid_request",
            "message": "the explanation request could not be processed by the llm service: it "
            "does not match its published schema",
        }


async def test_an_explanation_of_a_subject_that_never_comes_is_given_up(tmp_path: Path) -> None:
    async with running_service(bootstrap, tmp_path) as llm:
        explanation_id, subject_id = str(uuid.uuid4()), str(uuid.uuid4())
        long_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
        payload = {"explanation_id": explanation_id, "kind": "evaluation", "subject_id": subject_id}
        await llm.send_raw(
            topics.LLM,
            raw_envelope("ExplanationRequested", payload, key=explanation_id, occurred_at=long_ago),
            key=explanation_id,
        )
        failed = await llm.until_published(topics.LLM, "ExplanationFailed")
        assert failed.payload["code"] == "unknown_subject"
        assert failed.payload["explanation_id"] == explanation_id


async def test_an_unreadable_evaluation_fails_its_automatic_explanation(
    tmp_path: Path,
) -> None:
    async with running_service(bootstrap, tmp_path) as llm:
        evaluation_id = uuid.uuid4()
        payload = {
            "evaluation_id": str(evaluation_id),
            "synthetic_dataset_id": str(uuid.uuid4()),
            "generator_id": str(uuid.uuid4()),
            "scores": {"fidelity": "high"},  # not a number
            "report_key": "r.json",
            "html_report_key": "r.html",
        }
        await llm.send_raw(
            topics.EVALUATION,
            raw_envelope(EvaluationCompleted.event_type, payload, key=str(evaluation_id)),
            key=str(evaluation_id),
        )
        failed = await llm.until_published(topics.LLM, "ExplanationFailed")
        assert failed.payload["explanation_id"] == str(
            features.explanation_id("evaluation", evaluation_id)
        )
        assert (failed.payload["kind"], failed.payload["subject_id"]) == (
            "evaluation",
            str(evaluation_id),
        )
