"""Event contracts: envelope, catalogue, versioning and the published documents."""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

import jsonschema
import orjson
import pytest
from pydantic import ValidationError

from sds_common.events import (
    CATALOGUE,
    DatasetDeleted,
    DatasetUploaded,
    Envelope,
    TrainingRequested,
    UnknownEventTypeError,
    UnsupportedEventVersionError,
    lookup,
    parse_payload,
    topic_of,
    topics,
)
from sds_common.events.docs import render, schema_name

DOCS = Path(__file__).resolve().parents[2] / "docs" / "events"


def _uploaded() -> DatasetUploaded:
    return DatasetUploaded(
        dataset_id=uuid4(),
        name="adult",
        object_key="datasets/x/raw.csv",
        filename="adult.csv",
        format="csv",
        size_bytes=10,
        sha256="a" * 64,
    )


def test_envelope_round_trips_through_bytes() -> None:
    event = _uploaded()
    envelope = Envelope.wrap(event, actor="user-1", project_id="p1")
    again = Envelope.from_bytes(envelope.to_bytes())
    assert again == envelope
    assert parse_payload(again) == event
    assert again.key == str(event.dataset_id)
    assert again.occurred_at.tzinfo is not None


def test_caused_events_inherit_correlation_and_project() -> None:
    parent = Envelope.wrap(_uploaded(), actor="user-1", project_id="p1")
    child = Envelope.wrap(DatasetDeleted(dataset_id=uuid4()), actor="datasets", caused_by=parent)
    assert child.correlation_id == parent.correlation_id
    assert child.project_id == "p1"
    assert child.causation_id == str(parent.event_id)


def test_payloads_are_frozen_and_reject_unknown_fields() -> None:
    event = _uploaded()
    with pytest.raises(ValidationError):
        event.name = "other"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        DatasetDeleted.model_validate({"dataset_id": str(uuid4()), "surprise": 1})
    with pytest.raises(ValidationError):
        DatasetUploaded.model_validate({**event.model_dump(mode="json"), "sha256": "nothex"})


def test_lookup_distinguishes_unknown_type_from_unknown_version() -> None:
    assert lookup("TrainingRequested", 1) is TrainingRequested
    with pytest.raises(UnsupportedEventVersionError, match="version 7"):
        lookup("TrainingRequested", 7)
    with pytest.raises(UnknownEventTypeError):
        lookup("NoSuchThing", 1)


def test_catalogue_covers_the_design_and_every_event_has_a_known_topic() -> None:
    design = {
        "DatasetUploaded", "DatasetProfiled", "DatasetRejected", "TrainingRequested",
        "TrainingStarted", "TrainingProgress", "ModelTrained", "TrainingFailed",
        "PrivacyBudgetSpent", "PrivacyBudgetReserved", "PrivacyBudgetReleased",
        "GenerationRequested", "SyntheticDataGenerated", "EvaluationRequested",
        "EvaluationCompleted", "EvaluationFailed", "ExplanationRequested", "ExplanationGenerated",
    }  # fmt: skip
    names = {name for name, _ in CATALOGUE}
    assert design <= names
    for cls in CATALOGUE.values():
        assert cls.topic in topics.ALL
        assert cls.key_field in cls.model_fields, cls
        assert cls.event_type[0].isupper()
    assert topic_of("PrivacyBudgetSpent") == topics.PRIVACY


def test_committed_event_documents_match_the_code() -> None:
    """Fails when a payload changes without `make asyncapi` (the published contract drifted)."""
    expected = render()
    for relative, content in expected.items():
        path = DOCS / relative
        assert path.exists(), f"{path} is missing: run `make asyncapi`"
        assert path.read_bytes() == content, f"{path} is stale: run `make asyncapi`"
    committed = {f"schemas/{p.name}" for p in (DOCS / "schemas").glob("*.json")}
    assert committed == {k for k in expected if k.startswith("schemas/")}


def test_published_schema_validates_real_messages_and_rejects_wrong_ones() -> None:
    event = _uploaded()
    schema = orjson.loads((DOCS / "schemas" / f"{schema_name(DatasetUploaded)}.json").read_bytes())
    message = orjson.loads(Envelope.wrap(event, actor="u").to_bytes())
    jsonschema.validate(message, schema)
    message["version"] = DatasetUploaded.event_version + 1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(message, schema)
