"""The append path's shortcuts give exactly the records and hashes of the plain definitions."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

from sds_audit.domain.chain import GENESIS_HASH, Head, canonical_json, record_hash
from sds_audit.domain.records import AuditEntry, seal, seal_all, seal_rows

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def _entry(i: int) -> AuditEntry:
    zone = timezone(timedelta(hours=i % 5 - 2))  # offsets other than UTC must hash as UTC
    return AuditEntry(
        event_id=str(uuid.UUID(int=i)),
        event_type="PrivacyBudgetSpent" if i % 2 else "DatasetUploaded",
        event_version=1 + i % 2,
        occurred_at=(T0 + timedelta(seconds=i, microseconds=i % 3)).astimezone(zone),
        actor=f'trainer "{i}" \\ é\n',
        project_id=None if i % 3 == 0 else "p1",
        resource_type="dataset",
        resource_id="d1",
        correlation_id="g1",
        causation_id=None if i % 2 else "c1",
        privacy=None if i % 4 == 0 else {"epsilon": 0.5 * i, "delta": 1e-6, "z": [1, "ü"]},
        payload={"z": {"b": 1, "a": [i, None, "\u2028"]}, "dataset_id": "d1", "n": 1.5},
        refs=(("dataset", "d1"),),
    )


def test_seal_rows_gives_the_records_of_seal_and_their_canonical_json_text() -> None:
    entries = [_entry(i) for i in range(1, 13)]
    for recorded_at in (T0, T0 + timedelta(microseconds=7)):
        rows = seal_rows(entries, head=Head(0, GENESIS_HASH), recorded_at=recorded_at)
        head = Head(0, GENESIS_HASH)
        for entry, row in zip(entries, rows, strict=True):
            expected = seal(entry, head=head, recorded_at=recorded_at)
            assert row.record == expected
            assert row.record.hash == expected.computed_hash()
            assert row.payload_json == canonical_json(entry.payload).decode()
            assert row.privacy_json == (
                None if entry.privacy is None else canonical_json(entry.privacy).decode()
            )
            head = Head(expected.seq, expected.hash)
        assert seal_all(entries, head=Head(0, GENESIS_HASH), recorded_at=recorded_at) == [
            row.record for row in rows
        ]


def test_record_hash_is_the_canonical_hash() -> None:
    record = seal(_entry(5), head=Head(4, "a" * 64), recorded_at=T0)
    privacy = None if record.privacy is None else canonical_json(record.privacy)
    given = record_hash(record, payload_json=canonical_json(record.payload), privacy_json=privacy)
    assert given == record.computed_hash() == record.hash
    edited = record._replace(actor="mallory")
    assert (
        record_hash(edited, payload_json=canonical_json(record.payload), privacy_json=privacy)
        != record.hash
    )
