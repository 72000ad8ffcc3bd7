"""No evaluation waits forever (issue 16): a request the evaluator cannot take, or one whose
inputs never arrive, ends as ``EvaluationFailed`` with a reason a user may read."""

from __future__ import annotations

import uuid
from pathlib import Path

from sds_common.events import EvaluationRequested, topics
from sds_common.ids import evaluation_id_for
from sds_evaluator.bootstrap import bootstrap
from tests.support.services import raw_envelope, running_service


async def test_an_unreadable_generation_fails_its_automatic_evaluation(tmp_path: Path) -> None:
    async with running_service(bootstrap, tmp_path) as evaluator:
        generator_id, synthetic_id = str(uuid.uuid4()), uuid.uuid4()
        payload = {
            "generator_id": generator_id,
            "synthetic_dataset_id": str(synthetic_id),
            "dataset_id": str(uuid.uuid4()),
            "object_key": "synthetic/x/data.parquet",
            "rows": -1,
        }
        await evaluator.send_raw(
            topics.TRAINING,
            raw_envelope("SyntheticDataGenerated", payload, key=generator_id),
            key=generator_id,
        )
        failed = await evaluator.until_published(topics.EVALUATION, "EvaluationFailed")
        assert failed.payload["evaluation_id"] == str(evaluation_id_for(synthetic_id))
        assert failed.payload["synthetic_dataset_id"] == str(synthetic_id)
        assert failed.payload["code"] == "invalid_request"


async def test_an_evaluation_whose_inputs_never_come_is_given_up(tmp_path: Path) -> None:
    async with running_service(bootstrap, tmp_path, jobs_max_wait_s=0.5) as evaluator:
        request = EvaluationRequested(evaluation_id=uuid.uuid4(), synthetic_dataset_id=uuid.uuid4())
        await evaluator.send(request)  # a synthetic dataset this evaluator never hears of
        failed = await evaluator.until_published(topics.EVALUATION, "EvaluationFailed")
        assert failed.payload["evaluation_id"] == str(request.evaluation_id)
        assert failed.payload["code"] == "inputs_missing"
        assert str(failed.payload["message"]).endswith("waiting for the synthetic dataset")
