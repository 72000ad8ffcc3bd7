"""No dataset waits forever in ``uploaded`` (issue 16, findings 5 and "no job waits forever").

When the datasets service gives up on an upload (its handler kept failing, or the event cannot
be read), it dead-letters the event *and* rejects the dataset with a reason a user may read;
the gateway's read model shows the dataset ``rejected``.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from sds_common.events import DatasetUploaded, topics
from sds_datasets.bootstrap import bootstrap
from tests.support.services import raw_envelope, running_service


async def test_an_upload_whose_profiling_keeps_failing_is_rejected(tmp_path: Path) -> None:
    async with running_service(bootstrap, tmp_path) as datasets:
        dataset_id = uuid.uuid4()
        # The uploaded object is gone: every attempt fails, and not with a rejection of its own.
        await datasets.send(
            DatasetUploaded(
                dataset_id=dataset_id,
                name="t",
                object_key=f"uploads/{dataset_id}/gone.csv",
                filename="gone.csv",
                format="csv",
                size_bytes=10,
                sha256="0" * 64,
            )
        )
        rejected = await datasets.until_published(topics.DATASETS, "DatasetRejected")
        assert rejected.payload["dataset_id"] == str(dataset_id)
        assert rejected.payload["code"] == "processing_failed"
        message = str(rejected.payload["message"])
        assert message.startswith(
            "the upload could not be processed by the datasets service: it kept failing there"
        )
        assert "Error" not in message  # no exception class reaches the user
        [letter] = datasets.dead_letters(topics.DATASETS)
        assert letter["dlq-reason"] == b"handler_failed"
        assert b"NotFound" in letter["dlq-error"]  # the operators' copy says what happened


async def test_an_unreadable_upload_event_rejects_its_dataset(tmp_path: Path) -> None:
    async with running_service(bootstrap, tmp_path) as datasets:
        dataset_id = str(uuid.uuid4())
        payload = {"dataset_id": dataset_id, "name": "t", "format": "xlsx"}
        await datasets.send_raw(
            topics.DATASETS,
            raw_envelope("DatasetUploaded", payload, key=dataset_id, version=2),
            key=dataset_id,
        )
        rejected = await datasets.until_published(topics.DATASETS, "DatasetRejected")
        assert (rejected.payload["dataset_id"], rejected.payload["code"]) == (
            dataset_id,
            "invalid_request",
        )
