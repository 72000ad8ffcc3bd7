"""Records as verification reads them: stored text hashed as it is, parsed only when it must be.

The store writes the JSON columns as their canonical text (``canonical_json``), so the canonical
form of a whole record can embed that text verbatim (``orjson.Fragment``) instead of parsing it
into objects and serialising them again; timestamps are read as canonical UTC text for the same
reason. That is what makes verifying a million records fast (``benchmarks/audit.py``).

It is also exact: if the record hashed this way gives the stored hash, the bytes hashed are the
ones hashed at append time (SHA-256 is collision resistant), so the stored values are the
appended ones. If it does not (a record written before the text was canonical, or a tampered
one), the record is parsed and hashed the slow way, which decides.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, NamedTuple

import orjson

from sds_audit.domain.chain import ChainRecord

_ZERO_MICROSECONDS = ".000000Z"
_LAID_OUT = orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z


class StoredRecord(NamedTuple):
    """An audit row as stored: JSON columns as text, times as ISO 8601 UTC text.

    ``occurred_at`` and ``recorded_at`` are ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (six fractional
    digits, UTC); ``privacy`` and ``payload`` are the columns' text.
    """

    seq: int
    event_id: str
    event_type: str
    event_version: int
    occurred_at: str
    recorded_at: str
    actor: str
    project_id: str | None
    resource_type: str
    resource_id: str
    correlation_id: str
    causation_id: str | None
    privacy: str | None
    payload: str
    prev_hash: str
    hash: str

    def computed_hash(self) -> str:
        """The hash of the stored fields: the stored text as is, else parsed (see module)."""
        fast = hashlib.sha256(orjson.dumps(self._as_stored(), option=_LAID_OUT)).hexdigest()
        if fast == self.hash:
            return fast
        return self.parsed().computed_hash()

    def _as_stored(self) -> dict[str, Any]:
        # In sorted key order, which ``canonical_json`` would give: the top level needs no sort,
        # and the JSON columns are inserted verbatim.
        return {
            "actor": self.actor,
            "causation_id": self.causation_id,
            "correlation_id": self.correlation_id,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "event_version": self.event_version,
            "occurred_at": _canonical_time_text(self.occurred_at),
            "payload": orjson.Fragment(self.payload),
            "prev_hash": self.prev_hash,
            "privacy": None if self.privacy is None else orjson.Fragment(self.privacy),
            "project_id": self.project_id,
            "recorded_at": _canonical_time_text(self.recorded_at),
            "resource_id": self.resource_id,
            "resource_type": self.resource_type,
            "seq": self.seq,
        }

    def parsed(self) -> ChainRecord:
        """The record with its JSON and timestamps parsed, as appended."""
        return ChainRecord(
            seq=self.seq,
            event_id=self.event_id,
            event_type=self.event_type,
            event_version=self.event_version,
            occurred_at=datetime.fromisoformat(self.occurred_at),
            recorded_at=datetime.fromisoformat(self.recorded_at),
            actor=self.actor,
            project_id=self.project_id,
            resource_type=self.resource_type,
            resource_id=self.resource_id,
            correlation_id=self.correlation_id,
            causation_id=self.causation_id,
            privacy=None if self.privacy is None else orjson.loads(self.privacy),
            payload=orjson.loads(self.payload),
            prev_hash=self.prev_hash,
            hash=self.hash,
        )


def _canonical_time_text(text: str) -> str:
    # canonical_json writes a whole second without its fractional digits.
    if text.endswith(_ZERO_MICROSECONDS):
        return text[: -len(_ZERO_MICROSECONDS)] + "Z"
    return text
