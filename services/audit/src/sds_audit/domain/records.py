"""What the audit log keeps of an event: who, what resource, which privacy facts, which ids.

Pure: derives an ``AuditEntry`` from an envelope and its payload model, and seals an entry into
the chain (``seal``) once the store has told it the previous record.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final, NamedTuple

from sds_audit.domain.chain import ChainRecord, Head, canonical_json, record_hash
from sds_common.events import Envelope, Event
from sds_common.events.base import Unrecognised

#: Payload fields naming a resource, and the resource type each names.
ID_FIELDS: Final[Mapping[str, str]] = {
    "dataset_id": "dataset",
    "generator_id": "generator",
    "synthetic_dataset_id": "synthetic_dataset",
    "evaluation_id": "evaluation",
    "explanation_id": "explanation",
    "user_id": "user",
}
#: What the ``subject_id`` of an explanation names, by explanation kind.
SUBJECT_KINDS: Final[Mapping[str, str]] = {
    "evaluation": "evaluation",
    "data_dictionary": "dataset",
    "pii_hints": "dataset",
}
#: Payload fields that state a privacy decision or its parameters.
PRIVACY_FIELDS: Final = (
    "epsilon",
    "delta",
    "accountant",
    "noise_multiplier",
    "sample_rate",
    "steps",
    "max_grad_norm",
    "preprocessing_epsilon",
    "preprocessing_epsilon_share",
    "remaining_epsilon",
    "epsilon_spent",
    "reasons",
    "mechanism",
    "training_epsilon",
    "epochs",
    "batch_size",
    "declaration_version",
    "target_classes_public",
)
_PRIVACY_FIELD_SET: Final = frozenset(PRIVACY_FIELDS)
#: The ``resource_type`` that flags a record of an event the log could not interpret, by why:
#: its type or version is in no catalogue entry, or its payload does not match its schema. The
#: envelope is kept as it came (type, version, ids, payload); nothing is derived from it.
UNRECOGNISED: Final[Mapping[str, str]] = {
    "unknown_type": "unrecognised_type",
    "unsupported_version": "unrecognised_version",
    "invalid_payload": "invalid_payload",
}
UNRECOGNISED_KINDS: Final = frozenset(UNRECOGNISED.values())
_PRIVACY_REQUESTS: Final = frozenset({"TrainingRequested"})


class AuditEntry(NamedTuple):
    """An event as the log records it, before it has a place in the chain.

    A named tuple: the consumer builds one per event, and a tuple is built several times faster
    than a frozen dataclass.

    Attributes:
        refs: every (resource type, id) the event names, for trails and lookups.
    """

    event_id: str
    event_type: str
    event_version: int
    occurred_at: datetime
    actor: str
    project_id: str | None
    resource_type: str
    resource_id: str
    correlation_id: str
    causation_id: str | None
    privacy: dict[str, Any] | None
    payload: dict[str, Any]
    refs: tuple[tuple[str, str], ...]


def entry_of(envelope: Envelope, event: Event) -> AuditEntry:
    """The audit entry of one consumed event (flagged when it could not be interpreted)."""
    payload = dict(envelope.payload)
    if isinstance(event, Unrecognised):
        return _flagged(envelope, payload, UNRECOGNISED[event.reason])
    resource_type, resource_id = resource_of(event, payload)
    return AuditEntry(
        event_id=str(envelope.event_id),
        event_type=envelope.type,
        event_version=envelope.version,
        occurred_at=envelope.occurred_at,
        actor=envelope.actor,
        project_id=envelope.project_id,
        resource_type=resource_type,
        resource_id=resource_id,
        correlation_id=envelope.correlation_id,
        causation_id=envelope.causation_id,
        privacy=privacy_of(envelope.type, payload),
        payload=payload,
        refs=refs_of(payload),
    )


def _flagged(envelope: Envelope, payload: dict[str, Any], kind: str) -> AuditEntry:
    """An event the log records without interpreting it: about its key, no privacy facts."""
    return AuditEntry(
        event_id=str(envelope.event_id),
        event_type=envelope.type,
        event_version=envelope.version,
        occurred_at=envelope.occurred_at,
        actor=envelope.actor,
        project_id=envelope.project_id,
        resource_type=kind,
        resource_id=envelope.key,
        correlation_id=envelope.correlation_id,
        causation_id=envelope.causation_id,
        privacy=None,
        payload=payload,
        refs=(),
    )


def resource_of(event: Event, payload: Mapping[str, Any]) -> tuple[str, str]:
    """The resource an event is about: its partition key, or the synthetic dataset it names.

    Generation and download events are keyed by generator or user but are about one synthetic
    dataset, so that is their resource.
    """
    key_field = event.key_field
    if key_field in {"generator_id", "user_id"} and payload.get("synthetic_dataset_id"):
        return "synthetic_dataset", str(payload["synthetic_dataset_id"])
    # The payload's own text of the key (what refs and trails match on), else the model's.
    key = payload.get(key_field)
    resource_id = key if isinstance(key, str) else event.partition_key()
    return ID_FIELDS.get(key_field, key_field.removesuffix("_id")), resource_id


def refs_of(payload: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """Every resource id the payload names (explanation subjects mapped by kind)."""
    refs = {
        (ID_FIELDS[name], str(value))
        for name, value in payload.items()
        if name in ID_FIELDS and value
    }
    subject = payload.get("subject_id")
    if subject:
        refs.add((SUBJECT_KINDS.get(str(payload.get("kind")), "subject"), str(subject)))
    return tuple(sorted(refs))


def privacy_of(event_type: str, payload: Mapping[str, Any]) -> dict[str, Any] | None:
    """The privacy facts an event carries (ε, δ, accountant, noise, sampling, reasons ...).

    A training request without DP settings is itself a privacy decision: ``{"dp": false}``.
    """
    if event_type in _PRIVACY_REQUESTS:
        spec = payload.get("privacy")
        declared = payload.get("public_metadata_version")
        given = {} if declared is None else {"public_metadata_version": declared}
        if not isinstance(spec, Mapping):
            return {"dp": False, **given}
        return {
            "dp": True,
            **{name: value for name, value in spec.items() if value is not None},
            **given,
        }
    facts = {
        name: value
        for name, value in payload.items()
        if name in _PRIVACY_FIELD_SET and value is not None
    }
    if facts and payload.get("reason"):
        facts["reason"] = payload["reason"]  # why a reservation was released
    return facts or None


class SealedRecord(NamedTuple):
    """A record placed in the chain, with the canonical JSON text its hash was computed over.

    The store writes ``payload_json`` and ``privacy_json`` as the JSON columns' text, so each
    value is serialised once per append, not once for the hash and again for the row.
    """

    record: ChainRecord
    payload_json: str
    privacy_json: str | None


def seal_rows(
    entries: Iterable[AuditEntry], *, head: Head, recorded_at: datetime
) -> list[SealedRecord]:
    """Place ``entries`` one after the other after ``head``; hash them, keep their JSON text."""
    sealed: list[SealedRecord] = []
    seq, prev_hash = head.seq, head.hash
    for entry in entries:
        seq += 1
        payload_json = canonical_json(entry.payload)
        privacy_json = None if entry.privacy is None else canonical_json(entry.privacy)
        unsealed = ChainRecord(
            seq,
            entry.event_id,
            entry.event_type,
            entry.event_version,
            entry.occurred_at,
            recorded_at,
            entry.actor,
            entry.project_id,
            entry.resource_type,
            entry.resource_id,
            entry.correlation_id,
            entry.causation_id,
            entry.privacy,
            entry.payload,
            prev_hash,
            "",
        )
        prev_hash = record_hash(unsealed, payload_json=payload_json, privacy_json=privacy_json)
        sealed.append(
            SealedRecord(
                unsealed._replace(hash=prev_hash),
                payload_json.decode(),
                None if privacy_json is None else privacy_json.decode(),
            )
        )
    return sealed


def seal_all(
    entries: Iterable[AuditEntry], *, head: Head, recorded_at: datetime
) -> list[ChainRecord]:
    """Place ``entries`` one after the other after ``head`` and compute their hashes."""
    return [sealed.record for sealed in seal_rows(entries, head=head, recorded_at=recorded_at)]


def seal(entry: AuditEntry, *, head: Head, recorded_at: datetime) -> ChainRecord:
    """Place ``entry`` right after ``head`` and compute its hash."""
    unsealed = ChainRecord(
        seq=head.seq + 1,
        event_id=entry.event_id,
        event_type=entry.event_type,
        event_version=entry.event_version,
        occurred_at=entry.occurred_at,
        recorded_at=recorded_at,
        actor=entry.actor,
        project_id=entry.project_id,
        resource_type=entry.resource_type,
        resource_id=entry.resource_id,
        correlation_id=entry.correlation_id,
        causation_id=entry.causation_id,
        privacy=entry.privacy,
        payload=entry.payload,
        prev_hash=head.hash,
        hash="",
    )
    return unsealed._replace(hash=unsealed.computed_hash())
