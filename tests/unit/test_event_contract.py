"""Finding 18 of issue 16: the published contract says what every message really carries.

The JSON Schemas did not mark ``event_id``/``occurred_at`` required although consumers must
deduplicate on ``event_id``, and the AsyncAPI document left out the ``content-type`` header that
every message has. These tests compare the committed documents with messages the code writes
(an event's, and a dead letter's), so a field or a header added without being documented fails.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from sds_common.bus import MemoryBroker, Subscription
from sds_common.db import UnitOfWork
from sds_common.events import CATALOGUE, DatasetDeleted, Envelope, Event, topics
from sds_common.events.docs import schema_name
from sds_common.settings import Settings
from sds_common.telemetry.tracing import configure_tracing, producer_span
from tests.support.bus import BusHarness, deleted, harness

DOCS = Path(__file__).resolve().parents[2] / "docs" / "events"


def _asyncapi() -> dict[str, Any]:
    document: dict[str, Any] = orjson.loads((DOCS / "asyncapi.json").read_bytes())
    return document


@pytest.fixture
async def bus(tmp_path: Path) -> AsyncIterator[BusHarness]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bus.sqlite'}"
    async with harness(broker=MemoryBroker(), database_url=url, schema=None, name="doc") as h:
        yield h


def test_every_envelope_field_is_required_by_every_schema() -> None:
    on_the_wire = set(orjson.loads(Envelope.wrap(deleted(), actor="gateway").to_bytes()))
    assert {"event_id", "occurred_at"} <= on_the_wire
    for cls in CATALOGUE.values():
        schema = orjson.loads((DOCS / "schemas" / f"{schema_name(cls)}.json").read_bytes())
        assert set(schema["required"]) == on_the_wire, schema_name(cls)


async def test_every_header_of_a_message_is_in_the_asyncapi_document(bus: BusHarness) -> None:
    configure_tracing(Settings(otel_exporter="none"))  # as every service process does
    with producer_span("gateway request"):
        [envelope] = await bus.publish(deleted())
    [message] = await bus.read_topic(bus.topic(topics.DATASETS), expect=1)
    written = {name for name, _ in message.headers}
    name = f"{schema_name(DatasetDeleted)}".replace(".", "_")
    documented = _asyncapi()["components"]["messages"][name]["headers"]
    assert "content-type" in written
    assert "traceparent" in written
    assert written <= set(documented["properties"]), written - set(documented["properties"])
    assert set(documented["required"]) <= written
    assert dict(message.headers)["event-id"].decode() == str(envelope.event_id)


async def test_every_header_of_a_dead_letter_is_in_the_asyncapi_document(
    bus: BusHarness,
) -> None:
    async def fails(_envelope: Envelope, _event: Event, _uow: UnitOfWork) -> None:
        raise RuntimeError("broken")

    bus.consumer(Subscription.of(DatasetDeleted, fails, name="fails"), max_retries=0).start()
    await bus.publish(deleted())
    dlq = topics.dlq(bus.topic(topics.DATASETS))
    [letter] = await bus.read_topic(dlq, expect=1)
    written = {name for name, _ in letter.headers}
    document = _asyncapi()
    documented = document["components"]["messages"]["DeadLetter"]["headers"]
    assert written <= set(documented["properties"]), written - set(documented["properties"])
    assert set(documented["required"]) <= written
    channel = document["channels"][topics.dlq(topics.DATASETS)]
    assert channel["messages"] == {"DeadLetter": {"$ref": "#/components/messages/DeadLetter"}}


def test_the_document_says_what_consumers_do_with_types_it_does_not_list() -> None:
    description = _asyncapi()["info"]["description"]
    assert "never dead-lettered" in description
