"""The hash chain: canonical record form, hashes, signed checkpoints and verification.

Every record's ``hash`` is the SHA-256 (lowercase hex) of the canonical JSON of its fields, its
``seq`` and its ``prev_hash`` included: UTF-8, keys sorted at every level, no whitespace,
timestamps in UTC (see ``canonical_json``). The first record's ``prev_hash`` is
``GENESIS_HASH``. A checkpoint is an HMAC-SHA256 over one head (seq and hash), so a rewrite of the
whole chain after some record is still caught by the next signed checkpoint.

Pure: no I/O. ``ChainVerifier`` is fed records page by page in seq order, so a caller can stream
millions of rows through it in constant memory; records as appended (``ChainRecord``) and as
read back for verification (``sds_audit.domain.stored.StoredRecord``) both give their hash.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final, NamedTuple, Protocol

import orjson

GENESIS_HASH: Final = "0" * 64
CHECKPOINT_DOMAIN: Final = "sds-audit-checkpoint:v1"
_CANONICAL: Final = orjson.OPT_SORT_KEYS | orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z


def as_utc(value: datetime) -> datetime:
    """``value`` as an aware UTC datetime; a naive value is taken to be UTC already."""
    return value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)


def canonical_time(value: datetime) -> str:
    """A timestamp as canonical UTC text; a naive value is taken to be UTC already."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds") + "Z"


def canonical_json(value: Mapping[str, Any]) -> bytes:
    """The canonical JSON bytes of ``value``: sorted keys, no whitespace, UTF-8.

    Timestamps become RFC 3339 in UTC with ``Z`` (naive ones are taken to be UTC), with six
    fractional digits unless the microsecond is zero, e.g. ``2026-01-01T12:00:00.000007Z``.
    """
    return orjson.dumps(value, option=_CANONICAL)


class ChainRecord(NamedTuple):
    """One audit record as stored: the event's facts plus its place in the chain.

    A named tuple rather than a dataclass: verification builds a million of these from rows,
    and a tuple is built from a row several times faster.
    """

    seq: int
    event_id: str
    event_type: str
    event_version: int
    occurred_at: datetime
    recorded_at: datetime
    actor: str
    project_id: str | None
    resource_type: str
    resource_id: str
    correlation_id: str
    causation_id: str | None
    privacy: dict[str, Any] | None
    payload: dict[str, Any]
    prev_hash: str
    hash: str

    def canonical_fields(self) -> dict[str, Any]:
        """Every hashed field (all but ``hash``), ready for ``canonical_json``."""
        return {
            "seq": self.seq,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "event_version": self.event_version,
            "occurred_at": _utc_or_naive(self.occurred_at),
            "recorded_at": _utc_or_naive(self.recorded_at),
            "actor": self.actor,
            "project_id": self.project_id,
            "resource_type": self.resource_type,
            "resource_id": self.resource_id,
            "correlation_id": self.correlation_id,
            "causation_id": self.causation_id,
            "privacy": self.privacy,
            "payload": self.payload,
            "prev_hash": self.prev_hash,
        }

    def computed_hash(self) -> str:
        """The hash the record's fields give (equal to ``hash`` unless it was tampered with)."""
        return hashlib.sha256(canonical_json(self.canonical_fields())).hexdigest()


_LAID_OUT: Final = orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z


def record_hash(record: ChainRecord, *, payload_json: bytes, privacy_json: bytes | None) -> str:
    """``record.computed_hash()``, given the canonical JSON of its payload and privacy.

    The same bytes are hashed: the fields are laid out in sorted key order, so only the nested
    values needed sorting, and their canonical JSON (which the store keeps as the columns' text)
    goes in verbatim instead of being serialised a second time.
    """
    fields = {
        "actor": record.actor,
        "causation_id": record.causation_id,
        "correlation_id": record.correlation_id,
        "event_id": record.event_id,
        "event_type": record.event_type,
        "event_version": record.event_version,
        "occurred_at": _utc_or_naive(record.occurred_at),
        "payload": orjson.Fragment(payload_json),
        "prev_hash": record.prev_hash,
        "privacy": None if privacy_json is None else orjson.Fragment(privacy_json),
        "project_id": record.project_id,
        "recorded_at": _utc_or_naive(record.recorded_at),
        "resource_id": record.resource_id,
        "resource_type": record.resource_type,
        "seq": record.seq,
    }
    return hashlib.sha256(orjson.dumps(fields, option=_LAID_OUT)).hexdigest()


class Verifiable(Protocol):
    """What ``ChainVerifier`` reads of a record."""

    @property
    def seq(self) -> int:
        """The record's place in the chain."""
        ...

    @property
    def event_id(self) -> str:
        """The recorded event's id."""
        ...

    @property
    def event_type(self) -> str:
        """The recorded event's type."""
        ...

    @property
    def prev_hash(self) -> str:
        """The stored hash of the record before it."""
        ...

    @property
    def hash(self) -> str:
        """The record's stored hash."""
        ...

    def computed_hash(self) -> str:
        """The hash the record's stored fields give."""
        ...


def _utc_or_naive(value: datetime) -> datetime:
    # Naive values (SQLite) are UTC already; aware ones are serialised in UTC.
    offset = value.utcoffset()
    return value.astimezone(UTC) if offset else value


@dataclass(frozen=True, slots=True)
class Head:
    """The last record of the chain (seq 0 and ``GENESIS_HASH`` when empty)."""

    seq: int
    hash: str


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signed statement that the chain's record ``seq`` had hash ``hash`` at ``created_at``."""

    seq: int
    hash: str
    created_at: datetime
    reason: str
    signature: str


def checkpoint_signature(
    key: bytes, *, seq: int, record_hash: str, created_at: datetime, reason: str
) -> str:
    """The lowercase hex HMAC-SHA256 a checkpoint carries."""
    message = f"{CHECKPOINT_DOMAIN}\n{seq}\n{record_hash}\n{canonical_time(created_at)}\n{reason}"
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def sign_checkpoint(key: bytes, *, head: Head, created_at: datetime, reason: str) -> Checkpoint:
    """A checkpoint of ``head`` signed with ``key``."""
    signature = checkpoint_signature(
        key, seq=head.seq, record_hash=head.hash, created_at=created_at, reason=reason
    )
    return Checkpoint(
        seq=head.seq, hash=head.hash, created_at=created_at, reason=reason, signature=signature
    )


class Problem(StrEnum):
    """How the chain is broken at the first broken record."""

    EDITED = "edited"  # the record's fields no longer give its hash
    DELETED = "deleted"  # a seq is missing
    REORDERED = (
        "reordered"  # prev_hash is not the previous record's hash (moved, inserted, re-hashed)
    )
    TRUNCATED = "truncated"  # records the head or a checkpoint vouches for are gone
    HEAD_MISMATCH = "head_mismatch"  # the head row disagrees with the last record
    CHECKPOINT_SIGNATURE = "checkpoint_signature"  # a checkpoint's signature does not verify
    CHECKPOINT_MISMATCH = "checkpoint_mismatch"  # the record's hash differs from a signed one


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """What a verification found.

    Attributes:
        ok: the whole chain verified.
        records_checked: records walked (up to and including the broken one).
        checkpoints_checked: signed checkpoints matched against their records.
        last_seq: seq of the last record that verified.
        broken_seq: seq of the first broken (or first missing) record, if any.
        problem: how it is broken.
        detail: a sentence for people.
    """

    ok: bool
    records_checked: int
    checkpoints_checked: int
    last_seq: int
    broken_seq: int | None = None
    problem: Problem | None = None
    detail: str = "the chain verifies"


class ChainVerifier:
    """Walks records in seq order and stops at the first broken one.

    Args:
        checkpoints: every stored checkpoint (read BEFORE ``head``, so none is newer than it).
        signing_key: the HMAC key checkpoints were signed with.
        head: the chain head as stored; records after it are not checked.
    """

    def __init__(
        self, *, checkpoints: Iterable[Checkpoint], signing_key: bytes, head: Head | None = None
    ) -> None:
        self._checkpoints = {checkpoint.seq: checkpoint for checkpoint in checkpoints}
        self._key = signing_key
        self._head = head
        self._expected_seq = 1
        self._prev_hash = GENESIS_HASH
        self._last_good_checkpoint = 0
        self._checked = 0
        self._checkpoints_checked = 0
        self._broken: VerifyResult | None = None

    @property
    def broken(self) -> bool:
        """Whether a broken record was found (feeding more changes nothing)."""
        return self._broken is not None

    def feed(self, records: Iterable[Verifiable]) -> bool:
        """Check the next records (in seq order); return False once the chain is broken."""
        if self._broken is not None:
            return False
        for record in records:
            if self._head is not None and record.seq > self._head.seq:
                break
            self._checked += 1
            problem = self._check(record)
            if problem is not None:
                self._broken = problem
                return False
            self._expected_seq = record.seq + 1
            self._prev_hash = record.hash
        return True

    def _check(self, record: Verifiable) -> VerifyResult | None:
        if record.seq != self._expected_seq:
            return self._fail(
                self._expected_seq,
                Problem.DELETED,
                f"record {self._expected_seq} is missing (the next stored record is "
                f"{record.seq}): records were deleted",
            )
        if record.prev_hash != self._prev_hash:
            return self._fail(
                record.seq,
                Problem.REORDERED,
                f"record {record.seq} does not follow record {record.seq - 1} (prev_hash "
                "differs): records were reordered, inserted or re-hashed",
            )
        if record.computed_hash() != record.hash:
            return self._fail(
                record.seq,
                Problem.EDITED,
                f"record {record.seq} ({record.event_type} {record.event_id}) does not match "
                "its hash: it was edited",
            )
        checkpoint = self._checkpoints.get(record.seq)
        if checkpoint is None:
            return None
        return self._check_checkpoint(checkpoint, record.hash)

    def _check_checkpoint(self, checkpoint: Checkpoint, record_hash: str) -> VerifyResult | None:
        expected = checkpoint_signature(
            self._key,
            seq=checkpoint.seq,
            record_hash=checkpoint.hash,
            created_at=checkpoint.created_at,
            reason=checkpoint.reason,
        )
        if not hmac.compare_digest(expected, checkpoint.signature):
            return self._fail(
                checkpoint.seq,
                Problem.CHECKPOINT_SIGNATURE,
                f"the checkpoint at record {checkpoint.seq} is not signed by the audit key: "
                "it was forged or edited",
            )
        if checkpoint.hash != record_hash:
            return self._fail(
                checkpoint.seq,
                Problem.CHECKPOINT_MISMATCH,
                f"record {checkpoint.seq} differs from its signed checkpoint: the chain was "
                f"rewritten after record {self._last_good_checkpoint}",
            )
        self._checkpoints_checked += 1
        self._last_good_checkpoint = checkpoint.seq
        return None

    def _fail(self, seq: int, problem: Problem, detail: str) -> VerifyResult:
        return VerifyResult(
            ok=False,
            records_checked=self._checked,
            checkpoints_checked=self._checkpoints_checked,
            last_seq=self._expected_seq - 1,
            broken_seq=seq,
            problem=problem,
            detail=detail,
        )

    def result(self) -> VerifyResult:
        """The outcome once every record was fed: checks the tail against head and checkpoints."""
        if self._broken is not None:
            return self._broken
        last = self._expected_seq - 1
        beyond = sorted(seq for seq in self._checkpoints if seq > last)
        if self._head is not None and self._head.seq > last:
            return self._fail(
                last + 1,
                Problem.TRUNCATED,
                f"the head is record {self._head.seq} but the log ends at record {last}: "
                "records were deleted from its end",
            )
        if beyond:
            return self._fail(
                last + 1,
                Problem.TRUNCATED,
                f"a signed checkpoint vouches for record {beyond[0]} but the log ends at record "
                f"{last}: records were deleted from its end",
            )
        if self._head is not None and self._head.hash != self._prev_hash:
            return self._fail(
                last,
                Problem.HEAD_MISMATCH,
                f"the head's hash differs from record {last}'s: the head or the record was "
                "rewritten",
            )
        return VerifyResult(
            ok=True,
            records_checked=self._checked,
            checkpoints_checked=self._checkpoints_checked,
            last_seq=last,
        )


def verify(
    records: Iterable[Verifiable],
    checkpoints: Iterable[Checkpoint],
    *,
    signing_key: bytes,
    head: Head | None = None,
) -> VerifyResult:
    """Verify a whole chain given in seq order; see ``ChainVerifier`` to stream it in pages."""
    verifier = ChainVerifier(checkpoints=checkpoints, signing_key=signing_key, head=head)
    verifier.feed(records)
    return verifier.result()
