"""The evaluator service through its real bootstrap: formats and the declared target of
``DatasetProfiled`` reach the evaluation, and validity and baseline scores reach
``EvaluationCompleted``."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pandas as pd
import pytest

from sds_common.bus import MemoryBroker, OutgoingMessage, wait_until
from sds_common.events import Envelope, Event, topics
from sds_common.events.datasets import (
    ColumnSummary,
    ColumnSummaryV1,
    DatasetProfiled,
    DatasetProfiledV1,
)
from sds_common.events.training import ModelTrained, SyntheticDataGenerated
from sds_common.ids import evaluation_id_for
from sds_common.runtime.service import Service
from sds_common.settings import Settings
from sds_common.storage.local import LocalObjectStore
from sds_common.tables.formats import ColumnFormat
from sds_evaluator.bootstrap import bootstrap
from tests.unit.evaluator.tables import COLUMNS, population


@dataclass
class Harness:
    service: Service
    broker: MemoryBroker
    storage: LocalObjectStore
    settings: Settings

    async def put_table(self, key: str, frame: pd.DataFrame) -> None:
        buffer = io.BytesIO()
        frame.to_parquet(buffer)
        await self.storage.put_bytes(key, buffer.getvalue())

    async def send(self, event: Event) -> None:
        envelope = Envelope.wrap(event, actor="test", project_id="proj-1")
        await self.broker.send_batch(
            [
                OutgoingMessage(
                    topic=self.settings.topic(event.topic),
                    key=envelope.key.encode(),
                    value=envelope.to_bytes(),
                    headers=tuple(envelope.header_items()),
                )
            ]
        )

    async def completed(self, evaluation_id: UUID) -> dict[str, Any]:
        topic = self.settings.topic(topics.EVALUATION)

        def found() -> list[Envelope]:
            envelopes = [Envelope.from_bytes(m.value) for m in self.broker.messages(topic)]
            return [e for e in envelopes if e.key == str(evaluation_id)]

        async def arrived() -> bool:
            return bool(found())

        await wait_until(arrived, timeout_s=120)
        answer = found()[0]
        assert answer.type == "EvaluationCompleted", answer.payload
        return answer.payload


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    settings = Settings(data_dir=tmp_path, bus_retry_backoff_ms=1, outbox_poll_interval_ms=20)
    broker = MemoryBroker()
    storage = LocalObjectStore(tmp_path / "objects")
    await storage.start()
    await broker.start()
    service = bootstrap(settings, broker=broker, storage=storage)
    await service.start()
    try:
        yield Harness(service=service, broker=broker, storage=storage, settings=settings)
    finally:
        await service.stop()
        await broker.stop()
        await storage.close()


def _summary(name: str, kind: str, fmt: ColumnFormat | None) -> ColumnSummary:
    return ColumnSummary(name=name, kind=kind, missing_fraction=0.0, distinct=10, format=fmt)


async def _flow(harness: Harness, profiled: Event, dataset_id: UUID) -> dict[str, Any]:
    base = f"datasets/{dataset_id}"
    synthetic = population(600, seed=3)
    synthetic["hours"] = synthetic["hours"] + 0.001  # off the one-decimal format
    await harness.put_table(f"{base}/train.parquet", population(600, seed=1))
    await harness.put_table(f"{base}/holdout.parquet", population(300, seed=2))
    await harness.put_table(f"{base}/synthetic.parquet", synthetic)
    generator_id, synthetic_id = uuid4(), uuid4()
    await harness.send(profiled)
    await harness.send(
        ModelTrained(
            generator_id=generator_id,
            dataset_id=dataset_id,
            model_key="m",
            method="aim",
            epsilon=1.0,
            delta=1e-6,
            epochs=0,
            duration_s=1.0,
        )
    )
    await harness.send(
        SyntheticDataGenerated(
            generator_id=generator_id,
            synthetic_dataset_id=synthetic_id,
            dataset_id=dataset_id,
            object_key=f"{base}/synthetic.parquet",
            rows=600,
        )
    )
    return await harness.completed(evaluation_id_for(synthetic_id))


def _profiled_fields(dataset_id: UUID) -> dict[str, Any]:
    base = f"datasets/{dataset_id}"
    return {
        "dataset_id": dataset_id,
        "n_rows": 900,
        "n_columns": len(COLUMNS),
        "profile_key": f"{base}/profile.json",
        "table_key": f"{base}/table.parquet",
        "train_key": f"{base}/train.parquet",
        "holdout_key": f"{base}/holdout.parquet",
        "holdout_rows": 300,
    }


async def test_formats_and_no_declared_target_reach_the_evaluation(harness: Harness) -> None:
    dataset_id = uuid4()
    formats = {"hours": ColumnFormat(dtype="float64", decimals=1)}
    profiled = DatasetProfiled(
        columns=tuple(_summary(c.name, c.kind, formats.get(c.name)) for c in COLUMNS),
        target_column=None,
        **_profiled_fields(dataset_id),
    )
    payload = await _flow(harness, profiled, dataset_id)
    scores = payload["scores"]
    assert scores["validity"] == 0.0
    assert scores["validity_flagged_columns"] == 1.0
    assert "baseline_fidelity" in scores
    assert not any("utility" in key for key in scores)
    report = json.loads(await harness.storage.get_bytes(payload["report_key"]))
    assert report["method"] == "aim"
    assert report["utility"]["status"] == "no_target"
    assert [(f["column"], f["check"]) for f in report["validity"]["flags"]] == [
        ("hours", "representation")
    ]
    html = (await harness.storage.get_bytes(payload["html_report_key"])).decode()
    assert '<tr class="flagged"><td>hours</td>' in html


async def test_a_version_1_dataset_is_checked_on_dtypes_and_its_target_scored(
    harness: Harness,
) -> None:
    dataset_id = uuid4()
    profiled = DatasetProfiledV1(
        columns=tuple(
            ColumnSummaryV1(name=c.name, kind=c.kind, missing_fraction=0.0, distinct=10)
            for c in COLUMNS
        ),
        target_column="label",
        **_profiled_fields(dataset_id),
    )
    payload = await _flow(harness, profiled, dataset_id)
    scores = payload["scores"]
    assert scores["validity"] > 0.99
    assert {"utility_tstr_auc", "baseline_utility_tstr_auc"} <= set(scores)
    report = json.loads(await harness.storage.get_bytes(payload["report_key"]))
    assert report["validity"]["flags"] == []
    assert "dtypes only" in report["validity"]["notes"][0]
