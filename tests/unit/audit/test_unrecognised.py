"""Finding 18 of issue 16: the audit log records every envelope it can parse.

An event of a type or version no catalogue entry knows, or whose payload does not match its
schema, used to be skipped (or dead-lettered) by the audit consumer: "the audit log has every
event" was not true for them. Each is now recorded as it came, flagged by its
``resource_type``, in order with the others and under the same hash chain.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import orjson
from sqlalchemy import select

from sds_audit.adapters.orm import audit_log
from sds_common.bus import OutgoingMessage
from sds_common.events import TrainingCancelRequested, topics
from tests.unit.audit.harness import running_audit


def _raw(event_type: str, version: int, payload: dict[str, object], key: str) -> bytes:
    return orjson.dumps(
        {
            "event_id": str(uuid.uuid4()),
            "type": event_type,
            "version": version,
            "occurred_at": "2025-01-01T00:00:00Z",
            "correlation_id": key,
            "actor": "gateway",
            "project_id": "p1",
            "key": key,
            "payload": payload,
        }
    )


async def test_unreadable_events_are_recorded_flagged_in_chain_order(tmp_path: Path) -> None:
    generator, dataset = str(uuid.uuid4()), str(uuid.uuid4())
    unreadable: list[tuple[str, int, dict[str, object]]] = [
        ("TrainingArchived", 1, {"generator_id": generator}),  # no such type
        ("TrainingRequested", 7, {"generator_id": generator}),  # no such version
        (  # epsilon = 1e999 arrived as null (finding 4): the payload does not validate
            "TrainingRequested",
            1,
            {
                "generator_id": generator,
                "dataset_id": dataset,
                "method": "dp-ctgan",
                "privacy": {"epsilon": None},
            },
        ),
    ]
    async with running_audit(tmp_path) as audit:
        topic = audit.settings.topic(topics.TRAINING)
        await audit.broker.send_batch(
            [
                OutgoingMessage(
                    topic=topic, key=generator.encode(), value=_raw(t, v, payload, generator)
                )
                for t, v, payload in unreadable
            ]
        )
        # A readable event of the same key after them (one partition: one order).
        marker = await audit.publish(TrainingCancelRequested(generator_id=uuid.UUID(generator)))
        await audit.until_count(4)
        async with audit.service.database.sessions() as session:
            rows = (await session.execute(select(audit_log).order_by(audit_log.c.seq))).all()
        flagged = [(r.event_type, r.event_version, r.resource_type, r.resource_id) for r in rows]
        assert flagged == [
            ("TrainingArchived", 1, "unrecognised_type", generator),
            ("TrainingRequested", 7, "unrecognised_version", generator),
            ("TrainingRequested", 1, "invalid_payload", generator),
            ("TrainingCancelRequested", 1, "generator", generator),
        ]
        assert rows[2].payload["privacy"] == {"epsilon": None}  # kept as it came
        assert rows[2].privacy is None  # and nothing derived from it
        assert rows[3].event_id == str(marker.event_id)

        verified = (await audit.call("GET", "/api/v1/audit/verify")).json()
        assert verified.get("ok") is True, verified
        listed = await audit.call(
            "GET", "/api/v1/audit/events", params={"resource_type": "invalid_payload"}
        )
        assert listed.status_code == 200, listed.text
        assert [item["event_version"] for item in listed.json()["items"]] == [1]
        # Nothing was dead-lettered: the audit's work on them succeeded.
        dlq = audit.broker.messages(topics.dlq(topic))
        assert dlq == []
