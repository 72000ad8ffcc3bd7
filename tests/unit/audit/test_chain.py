"""The hash chain on synthetic records: hashing, and verify locating each kind of tampering."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from sds_audit.domain.chain import (
    GENESIS_HASH,
    ChainRecord,
    ChainVerifier,
    Checkpoint,
    Head,
    Problem,
    canonical_json,
    canonical_time,
    sign_checkpoint,
    verify,
)
from sds_audit.domain.records import AuditEntry, seal
from sds_audit.domain.stored import StoredRecord

KEY = b"test-signing-key"
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def _entry(i: int) -> AuditEntry:
    return AuditEntry(
        event_id=str(uuid.UUID(int=i)),
        event_type="PrivacyBudgetSpent",
        event_version=1,
        occurred_at=T0 + timedelta(seconds=i),
        actor="trainer",
        project_id="p1",
        resource_type="dataset",
        resource_id="d1",
        correlation_id="g1",
        causation_id=None,
        privacy={"epsilon": 0.5 * i, "delta": 1e-6},
        payload={"dataset_id": "d1", "generator_id": "g1", "epsilon": 0.5 * i, "n": [i, "é"]},
        refs=(("dataset", "d1"), ("generator", "g1")),
    )


def _chain(n: int, *, every: int = 0) -> tuple[list[ChainRecord], list[Checkpoint]]:
    records: list[ChainRecord] = []
    checkpoints: list[Checkpoint] = []
    head = Head(seq=0, hash=GENESIS_HASH)
    for i in range(1, n + 1):
        record = seal(_entry(i), head=head, recorded_at=T0 + timedelta(seconds=i, microseconds=7))
        records.append(record)
        head = Head(seq=record.seq, hash=record.hash)
        if every and record.seq % every == 0:
            checkpoints.append(sign_checkpoint(KEY, head=head, created_at=T0, reason="periodic"))
    return records, checkpoints


def _head(records: list[ChainRecord]) -> Head:
    return Head(seq=records[-1].seq, hash=records[-1].hash)


def test_canonical_form_is_sorted_compact_utf8_and_utc() -> None:
    value = {"b": 1, "a": {"y": "é", "x": None}, "t": datetime(2026, 1, 1, 12, 0, 0, 7)}  # noqa: DTZ001
    assert (
        canonical_json(value)
        == '{"a":{"x":null,"y":"é"},"b":1,"t":"2026-01-01T12:00:00.000007Z"}'.encode()
    )
    plus_two = timezone(timedelta(hours=2))
    expected = "2026-01-01T12:00:00.000000Z"
    assert canonical_time(datetime(2026, 1, 1, 14, 0, tzinfo=plus_two)) == expected
    assert canonical_time(datetime(2026, 1, 1, 12, 0)) == expected  # noqa: DTZ001


def test_the_record_hash_is_pinned() -> None:
    """A verifier written elsewhere must get the same hash from the documented canonical form."""
    record = seal(_entry(1), head=Head(0, GENESIS_HASH), recorded_at=T0)
    text = (
        '{"actor":"trainer","causation_id":null,"correlation_id":"g1",'
        '"event_id":"00000000-0000-0000-0000-000000000001","event_type":"PrivacyBudgetSpent",'
        '"event_version":1,"occurred_at":"2026-01-01T12:00:01Z","payload":{"dataset_id":"d1",'
        '"epsilon":0.5,"generator_id":"g1","n":[1,"é"]},"prev_hash":"' + GENESIS_HASH + '",'
        '"privacy":{"delta":1e-6,"epsilon":0.5},"project_id":"p1","recorded_at":'
        '"2026-01-01T12:00:00Z","resource_id":"d1","resource_type":"dataset","seq":1}'
    )
    assert canonical_json(record.canonical_fields()) == text.encode()
    assert record.hash == hashlib.sha256(text.encode()).hexdigest()


def test_hash_covers_every_field_seq_and_prev_hash() -> None:
    records, _ = _chain(2)
    first, second = records
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    assert len(first.hash) == 64
    assert first.computed_hash() == first.hash
    for change in (
        {"seq": 9},
        {"prev_hash": "f" * 64},
        {"actor": "mallory"},
        {"payload": {**first.payload, "epsilon": 0.0}},
        {"privacy": None},
        {"occurred_at": first.occurred_at + timedelta(microseconds=1)},
    ):
        assert first._replace(**change).computed_hash() != first.hash
    # The same instant in another zone is the same record.
    moved = first._replace(occurred_at=first.occurred_at.astimezone(timezone(timedelta(hours=-5))))
    assert moved.computed_hash() == first.hash


def test_an_intact_chain_verifies() -> None:
    records, checkpoints = _chain(50, every=10)
    result = verify(records, checkpoints, signing_key=KEY, head=_head(records))
    assert result.ok, result.detail
    assert (result.records_checked, result.checkpoints_checked, result.last_seq) == (50, 5, 50)
    assert verify([], [], signing_key=KEY, head=Head(0, GENESIS_HASH)).ok


def test_an_edited_record_is_detected_and_located() -> None:
    records, checkpoints = _chain(20, every=10)
    records[6] = records[6]._replace(payload={**records[6].payload, "epsilon": 0.01})
    result = verify(records, checkpoints, signing_key=KEY, head=_head(records))
    assert not result.ok
    assert (result.broken_seq, result.problem) == (7, Problem.EDITED)
    assert result.records_checked == 7
    assert result.last_seq == 6


def test_a_deleted_record_leaves_a_gap() -> None:
    records, checkpoints = _chain(20)
    del records[11]
    result = verify(records, checkpoints, signing_key=KEY, head=_head(records))
    assert (result.broken_seq, result.problem) == (12, Problem.DELETED)
    first_gone = verify(records[1:], [], signing_key=KEY)
    assert (first_gone.broken_seq, first_gone.problem) == (1, Problem.DELETED)


def test_swapped_records_are_detected_at_the_first_moved_one() -> None:
    records, _ = _chain(20)
    a, b = records[4], records[8]
    # Swap their places in the log, each keeping its own content and hash.
    records[4] = b._replace(seq=5)
    records[8] = a._replace(seq=9)
    result = verify(records, [], signing_key=KEY, head=_head(records))
    assert (result.broken_seq, result.problem) == (5, Problem.REORDERED)


def test_an_inserted_record_breaks_the_link_after_it() -> None:
    records, _ = _chain(10)
    forged = seal(_entry(99), head=Head(seq=4, hash="a" * 64), recorded_at=T0)
    tampered = [*records[:4], forged, *[r._replace(seq=r.seq + 1) for r in records[4:]]]
    result = verify(tampered, [], signing_key=KEY)
    assert (result.broken_seq, result.problem) == (5, Problem.REORDERED)


def test_a_rewritten_chain_is_caught_by_the_next_signed_checkpoint() -> None:
    records, checkpoints = _chain(30, every=10)
    # Edit record 13 and re-hash everything after it, head included: only checkpoints know.
    head = Head(seq=12, hash=records[11].hash)
    rewritten = records[:12]
    for i, original in enumerate(records[12:], start=13):
        entry = _entry(i)
        if i == 13:
            entry = entry._replace(payload={**entry.payload, "epsilon": 0.0})
        record = seal(entry, head=head, recorded_at=original.recorded_at)
        rewritten.append(record)
        head = Head(seq=record.seq, hash=record.hash)
    result = verify(rewritten, checkpoints, signing_key=KEY, head=head)
    assert (result.broken_seq, result.problem) == (20, Problem.CHECKPOINT_MISMATCH)
    assert "after record 10" in result.detail


def test_a_tampered_checkpoint_is_detected() -> None:
    records, checkpoints = _chain(30, every=10)
    forged = dataclasses.replace(checkpoints[1], created_at=T0 + timedelta(days=1))
    result = verify(records, [checkpoints[0], forged, checkpoints[2]], signing_key=KEY)
    assert (result.broken_seq, result.problem) == (20, Problem.CHECKPOINT_SIGNATURE)
    wrong_key = sign_checkpoint(b"other", head=Head(10, records[9].hash), created_at=T0, reason="x")
    result = verify(records, [wrong_key], signing_key=KEY)
    assert (result.broken_seq, result.problem) == (10, Problem.CHECKPOINT_SIGNATURE)


def test_a_truncated_tail_is_detected_by_the_head_or_a_checkpoint() -> None:
    records, checkpoints = _chain(30, every=10)
    head = _head(records)
    result = verify(records[:25], checkpoints, signing_key=KEY, head=head)
    assert (result.broken_seq, result.problem) == (26, Problem.TRUNCATED)
    # The head rolled back too: the checkpoint at 30 still vouches for the lost records.
    result = verify(records[:25], checkpoints, signing_key=KEY, head=_head(records[:25]))
    assert (result.broken_seq, result.problem) == (26, Problem.TRUNCATED)
    result = verify(records, [], signing_key=KEY, head=Head(30, "b" * 64))
    assert (result.broken_seq, result.problem) == (30, Problem.HEAD_MISMATCH)


def test_records_after_the_head_are_not_checked() -> None:
    records, _ = _chain(10)
    result = verify(records, [], signing_key=KEY, head=_head(records[:6]))
    assert result.ok
    assert result.records_checked == 6


@pytest.mark.parametrize("page", [1, 3, 7, 100])
def test_feeding_in_pages_gives_the_same_answer(page: int) -> None:
    records, checkpoints = _chain(40, every=10)
    records[22] = records[22]._replace(actor="mallory")
    verifier = ChainVerifier(checkpoints=checkpoints, signing_key=KEY, head=_head(records))
    for start in range(0, len(records), page):
        if not verifier.feed(records[start : start + page]):
            break
    assert verifier.broken
    result = verifier.result()
    assert (result.broken_seq, result.problem, result.records_checked) == (23, Problem.EDITED, 23)


def _as_stored(record: ChainRecord, *, payload_text: str | None = None) -> StoredRecord:
    """A record as the store reads it back: JSON as canonical text, times as UTC text."""
    utc_text = "%Y-%m-%dT%H:%M:%S.%fZ"
    return StoredRecord(
        seq=record.seq,
        event_id=record.event_id,
        event_type=record.event_type,
        event_version=record.event_version,
        occurred_at=record.occurred_at.astimezone(UTC).strftime(utc_text),
        recorded_at=record.recorded_at.astimezone(UTC).strftime(utc_text),
        actor=record.actor,
        project_id=record.project_id,
        resource_type=record.resource_type,
        resource_id=record.resource_id,
        correlation_id=record.correlation_id,
        causation_id=record.causation_id,
        privacy=None if record.privacy is None else canonical_json(record.privacy).decode(),
        payload=payload_text
        if payload_text is not None
        else canonical_json(record.payload).decode(),
        prev_hash=record.prev_hash,
        hash=record.hash,
    )


def test_stored_records_hash_like_the_appended_ones() -> None:
    # Record 1 was recorded on a whole second (T0): its canonical time has no fraction.
    first = seal(_entry(1), head=Head(0, GENESIS_HASH), recorded_at=T0)
    records = [first, *_chain(5)[0][1:]]
    for record in records:
        assert _as_stored(record).computed_hash() == record.hash
        assert _as_stored(record).parsed() == record


def test_stored_text_that_is_not_canonical_still_verifies_and_edits_do_not() -> None:
    records, _ = _chain(4)
    # Written by an older version: the same JSON, spaced and unsorted.
    legacy = json.dumps(dict(reversed(list(records[1].payload.items()))), indent=1)
    stored = [_as_stored(r) for r in records]
    stored[1] = _as_stored(records[1], payload_text=legacy)
    assert verify(stored, [], signing_key=KEY, head=_head(records)).ok
    edited = json.dumps({**records[2].payload, "epsilon": 0.01})
    stored[2] = _as_stored(records[2], payload_text=edited)
    result = verify(stored, [], signing_key=KEY, head=_head(records))
    assert (result.broken_seq, result.problem) == (3, Problem.EDITED)
