"""The DatasetUploaded handler through the real bootstrap, in-process bus and local object store."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID, uuid4

import orjson
import pytest

from sds_common.bus import MemoryBroker, OutgoingMessage, wait_until
from sds_common.events import Envelope, topics
from sds_common.events.datasets import DatasetProfiled, DatasetUploaded
from sds_common.runtime.service import Service
from sds_common.settings import Settings
from sds_common.storage.local import LocalObjectStore
from sds_common.tables import BooleanTokens, ColumnOverride
from sds_common.tables.public_metadata import SchemaProposal
from sds_datasets.bootstrap import bootstrap
from sds_datasets.config import DatasetsSettings, datasets_settings

ADULT = Path(__file__).resolve().parents[3] / "data" / "adult" / "adult.csv"


@dataclass
class Harness:
    service: Service
    broker: MemoryBroker
    storage: LocalObjectStore
    settings: Settings

    @property
    def topic(self) -> str:
        return self.settings.topic(topics.DATASETS)

    async def upload(
        self,
        content: bytes,
        *,
        filename: str = "table.csv",
        target: str | None = None,
        overrides: dict[str, ColumnOverride] | None = None,
    ) -> tuple[UUID, Envelope]:
        dataset_id = uuid4()
        key = f"datasets/{dataset_id}/raw/{filename}"
        await self.storage.put_bytes(key, content, content_type="text/csv")
        event = DatasetUploaded(
            dataset_id=dataset_id,
            name=filename,
            object_key=key,
            filename=filename,
            format="csv",
            size_bytes=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            target_column=target,
            column_overrides=overrides or {},
        )
        envelope = Envelope.wrap(event, actor="gateway", project_id="proj-1")
        await self.send(envelope)
        return dataset_id, envelope

    async def send(self, envelope: Envelope) -> None:
        await self.broker.send_batch(
            [
                OutgoingMessage(
                    topic=self.topic,
                    key=envelope.key.encode(),
                    value=envelope.to_bytes(),
                    headers=tuple(envelope.header_items()),
                )
            ]
        )

    def answers(self, dataset_id: UUID) -> list[Envelope]:
        found = [Envelope.from_bytes(m.value) for m in self.broker.messages(self.topic)]
        return [
            e
            for e in found
            if e.type in ("DatasetProfiled", "DatasetRejected") and e.key == str(dataset_id)
        ]

    async def answer(self, dataset_id: UUID, *, count: int = 1) -> Envelope:
        async def arrived() -> bool:
            return len(self.answers(dataset_id)) >= count

        await wait_until(arrived, timeout_s=30)
        return self.answers(dataset_id)[count - 1]


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


async def test_adult_upload_is_profiled(harness: Harness) -> None:
    dataset_id, uploaded = await harness.upload(
        ADULT.read_bytes(), filename="adult.csv", target="income"
    )
    answer = await harness.answer(dataset_id)
    assert answer.type == "DatasetProfiled"
    assert answer.causation_id == str(uploaded.event_id)
    assert answer.project_id == "proj-1"
    payload = answer.payload
    profiled = DatasetProfiled.model_validate(payload)
    base = f"datasets/{dataset_id}"
    assert payload["table_key"] == f"{base}/table.parquet"
    assert payload["train_key"] == f"{base}/train.parquet"
    assert payload["holdout_key"] == f"{base}/holdout.parquet"
    assert payload["profile_key"] == f"{base}/profile.json"
    assert payload["n_rows"] == 32_561
    assert payload["n_columns"] == 15
    assert payload["target_column"] == "income"
    assert payload["holdout_rows"] == 6_512
    columns = {c.name: c for c in profiled.columns}
    assert columns["income"].kind == "categorical"
    assert columns["income"].distinct == 2
    assert columns["age"].kind == "numeric"
    assert columns["workclass"].missing_fraction > 0
    stored = {o.key for o in await harness.storage.list(f"{base}/")}
    assert stored == {
        f"{base}/raw/adult.csv",
        f"{base}/table.parquet",
        f"{base}/train.parquet",
        f"{base}/holdout.parquet",
        f"{base}/profile.json",
        f"{base}/schema-proposal.json",
    }
    profile = orjson.loads(await harness.storage.get_bytes(f"{base}/profile.json"))
    assert profile["dp"] is False
    assert profile["n_rows"] == 32_561
    # The schema review's proposal, beside the profile: as owner-only, and round.
    proposal = SchemaProposal.model_validate_json(
        await harness.storage.get_bytes(f"{base}/schema-proposal.json")
    )
    assert proposal.dp is False
    assert proposal.target_column == "income"
    by_name = {c.name: c for c in proposal.columns}
    assert by_name["age"].bounds == (0.0, 100.0)
    assert by_name["income"].target
    assert by_name["income"].categories == ("<=50K", ">50K")
    assert [r.value for r in by_name["native-country"].rare] == ["Holand-Netherlands"]


async def test_rejected_upload_leaves_only_the_raw_object(harness: Harness) -> None:
    dataset_id = uuid4()
    base = f"datasets/{dataset_id}"
    # Leftovers of an earlier attempt must not survive a rejection.
    await harness.storage.put_bytes(f"{base}/table.parquet", b"stale")
    content = b"a,b,c\n1,2,3\n4,5\n"
    key = f"{base}/raw/bad.csv"
    await harness.storage.put_bytes(key, content)
    event = DatasetUploaded(
        dataset_id=dataset_id,
        name="bad",
        object_key=key,
        filename="bad.csv",
        format="csv",
        size_bytes=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
    )
    await harness.send(Envelope.wrap(event, actor="gateway"))
    answer = await harness.answer(dataset_id)
    assert answer.type == "DatasetRejected"
    assert answer.payload["code"] == "ragged_rows"
    assert answer.payload["row"] == 3
    assert "line 3 has 2 field(s) but the header has 3" in str(answer.payload["message"])
    assert [o.key for o in await harness.storage.list(f"{base}/")] == [key]


async def test_unknown_target_is_rejected(harness: Harness) -> None:
    dataset_id, _ = await harness.upload(b"a,b\n1,x\n2,y\n", target="label")
    answer = await harness.answer(dataset_id)
    assert answer.type == "DatasetRejected"
    assert answer.payload["code"] == "unknown_target"
    assert answer.payload["column"] == "label"


async def test_redelivery_is_deduplicated_and_reprocessing_rewrites_the_same_content(
    harness: Harness,
) -> None:
    content = b"n,label\n" + b"".join(f"{i},{'ab'[i % 2]}\n".encode() for i in range(200))
    dataset_id, envelope = await harness.upload(content, target="label")
    await harness.answer(dataset_id)
    base = f"datasets/{dataset_id}"
    before = {
        o.key: (await harness.storage.stat(o.key)).sha256 for o in await harness.storage.list(base)
    }
    # The same envelope again: the inbox drops it.
    await harness.send(envelope)
    # The same fact under a new event id (a gateway retry): processed again, same content.
    again = Envelope.wrap(DatasetUploaded.model_validate(envelope.payload), actor="gateway")
    await harness.send(again)
    second = await harness.answer(dataset_id, count=2)
    assert second.causation_id == str(again.event_id)
    after = {
        o.key: (await harness.storage.stat(o.key)).sha256 for o in await harness.storage.list(base)
    }
    assert after == before
    assert len(harness.answers(dataset_id)) == 2


async def test_profiled_columns_carry_their_formats_and_the_overrides(harness: Harness) -> None:
    content = b"ref,flag,note\n" + b"".join(
        f"{i % 40},{'Yes' if i % 3 else 'No'},{['none', '-', 'NA'][i % 3]}\n".encode()
        for i in range(120)
    )
    overrides = {"ref": ColumnOverride(kind="identifier")}
    dataset_id, _ = await harness.upload(content, overrides=overrides)
    answer = await harness.answer(dataset_id)
    assert answer.type == "DatasetProfiled", answer.payload
    columns = {c.name: c for c in DatasetProfiled.model_validate(answer.payload).columns}
    assert columns["ref"].kind == "identifier"
    flag = columns["flag"].format
    assert flag is not None
    assert flag.boolean == BooleanTokens(true="Yes", false="No")
    note = columns["note"].format
    assert note is not None
    assert (note.dtype, note.missing_markers) == ("string", ("NA",))
    assert columns["note"].distinct == 2  # "none" and "-" are values of a text column


async def test_overrides_of_unknown_columns_are_rejected(harness: Harness) -> None:
    overrides = {"colour": ColumnOverride(kind="categorical")}
    dataset_id, _ = await harness.upload(b"a,b\n1,x\n2,y\n", overrides=overrides)
    answer = await harness.answer(dataset_id)
    assert answer.type == "DatasetRejected"
    assert answer.payload["code"] == "unknown_column"
    assert answer.payload["column"] == "colour"
    assert "'colour'" in str(answer.payload["message"])


def test_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SDS_DATASETS_MAX_ROWS", "1000")
    monkeypatch.setenv("SDS_DATASETS_MAX_COLUMNS", "40")
    monkeypatch.setenv("SDS_DATASETS_MAX_CATEGORIES", "300")
    monkeypatch.setenv("SDS_DATASETS_HOLDOUT_FRACTION", "0.25")
    shared = Settings(data_dir=tmp_path, topic_prefix="x.")
    settings = datasets_settings(shared)
    limits = settings.limits()
    assert (limits.max_rows, limits.max_columns, limits.max_categories) == (1000, 40, 300)
    assert limits.holdout_fraction == 0.25
    assert settings.topic_prefix == "x."
    assert datasets_settings(settings) is settings
    assert DatasetsSettings().limits().max_rows == 1000
