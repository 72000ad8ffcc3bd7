"""Generates the published event contract: one JSON Schema per event and an AsyncAPI 3 document.

Run ``python -m sds_common.events.docs docs/events`` (``make asyncapi``); a test regenerates the
files in memory and fails when the committed ones differ, so the contract never drifts silently.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import orjson

from sds_common.events import headers, topics
from sds_common.events.base import Envelope, Event
from sds_common.events.catalog import CATALOGUE

ASYNCAPI_VERSION = "3.0.0"


def schema_name(cls: type[Event]) -> str:
    """File and component name of an event model, e.g. ``DatasetUploaded.v1``."""
    return f"{cls.event_type}.v{cls.event_version}"


def event_schema(cls: type[Event]) -> dict[str, Any]:
    """The JSON Schema of a whole message of this type: envelope with typed payload."""
    envelope = Envelope.model_json_schema()
    payload = cls.model_json_schema(ref_template="#/$defs/{model}")
    defs = {**envelope.pop("$defs", {}), **payload.pop("$defs", {})}
    properties = dict(envelope["properties"])
    properties["type"] = {"const": cls.event_type, "type": "string"}
    properties["version"] = {"const": cls.event_version, "type": "integer"}
    properties["payload"] = payload
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://schemas.synthetic-data-studio.dev/events/{schema_name(cls)}.json",
        "title": schema_name(cls),
        "description": (cls.__doc__ or cls.event_type).strip().splitlines()[0],
        "type": "object",
        "properties": properties,
        # Every field is on every message (``causation_id`` and ``project_id`` may be null):
        # the model's defaults are for producers, not a licence to leave them out.
        "required": list(envelope["properties"]),
        "additionalProperties": False,
        "x-topic": cls.topic,
        "x-partition-key": f"payload.{cls.key_field}",
    }
    if defs:
        schema["$defs"] = defs
    return schema


def asyncapi_document() -> dict[str, Any]:
    """An AsyncAPI 3.0 document: one channel per topic, one message per event type and version."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for cls in sorted(CATALOGUE.values(), key=schema_name):
        name = schema_name(cls).replace(".", "_")
        messages[name] = {
            "name": cls.event_type,
            "title": f"{cls.event_type} (version {cls.event_version})",
            "summary": (cls.__doc__ or cls.event_type).strip().splitlines()[0],
            "contentType": "application/json",
            "headers": _message_headers(cls),
            "payload": {"$ref": f"./schemas/{schema_name(cls)}.json"},
            "bindings": {"kafka": {"key": {"type": "string", "description": cls.key_field}}},
        }
        channel = channels.setdefault(
            cls.topic,
            {
                "address": cls.topic,
                "description": f"Events of the {cls.topic} aggregate, keyed by {cls.key_field}. "
                f"Physical name: SDS_TOPIC_PREFIX + '{cls.topic}'; dead letters go to "
                f"'{topics.dlq(cls.topic)}'.",
                "messages": {},
            },
        )
        channel["messages"][name] = {"$ref": f"#/components/messages/{name}"}
    for topic in sorted(channels):
        operations[f"receive_{topic}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{topic}"},
            "summary": f"Subscribe to the {topic} topic (at-least-once; deduplicate on event_id).",
        }
    messages["DeadLetter"] = _dead_letter_message()
    for topic in sorted(channels):
        dlq = topics.dlq(topic)
        channels[dlq] = {
            "address": dlq,
            "description": f"Messages of '{topic}' a consumer gave up on, unchanged, with why.",
            "messages": {"DeadLetter": {"$ref": "#/components/messages/DeadLetter"}},
        }
        operations[f"receive_{dlq}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{dlq}"},
            "summary": f"Inspect or replay the dead letters of the {topic} topic.",
        }
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "Synthetic Data Studio events",
            "version": "1.0.0",
            "description": (
                "Domain events exchanged over Kafka. Delivery is at-least-once: consumers "
                "deduplicate on envelope.event_id. Order is guaranteed per partition key only. "
                "A breaking payload change ships as a new version of the same type. Topics are "
                "shared: a consumer skips the types it does not handle. A type this document "
                "does not list is counted and logged by every consumer and recorded (flagged) "
                "by the audit service, never dead-lettered; a listed type a consumer handles "
                "but cannot read (unknown version, invalid payload) is dead-lettered by it."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "kafka": {"host": "localhost:9092", "protocol": "kafka", "description": "KRaft"}
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def _message_headers(cls: type[Event]) -> dict[str, Any]:
    """The headers of a message of ``cls``: the envelope's (required) and the trace context."""
    values: dict[str, dict[str, Any]] = {
        headers.EVENT_TYPE: {"const": cls.event_type},
        headers.EVENT_VERSION: {"const": str(cls.event_version)},
        headers.EVENT_ID: {"type": "string", "format": "uuid"},
        headers.CONTENT_TYPE: {"const": headers.JSON},
    }
    properties = {
        name: {**values.get(name, {"type": "string"}), "description": meaning}
        for name, meaning in {**headers.MESSAGE_HEADERS, **headers.TRACE_HEADERS}.items()
    }
    return {"type": "object", "properties": properties, "required": list(headers.MESSAGE_HEADERS)}


def _dead_letter_message() -> dict[str, Any]:
    """A dead letter: the original message (body and headers) plus the ``dlq-*`` headers."""
    original = {
        name: {"type": "string", "description": f"as on the original message: {meaning}"}
        for name, meaning in {**headers.MESSAGE_HEADERS, **headers.TRACE_HEADERS}.items()
    }
    added = {
        name: {"type": "string", "description": meaning}
        for name, meaning in headers.DEAD_LETTER_HEADERS.items()
    }
    return {
        "name": "DeadLetter",
        "title": "A message a consumer gave up on",
        "summary": "The original message, unchanged, with the dlq-* headers that say why.",
        "headers": {
            "type": "object",
            "properties": {**original, **added},
            "required": list(headers.DEAD_LETTER_HEADERS),
        },
        "payload": {"description": "the original message's body, byte for byte"},
    }


def render() -> dict[str, bytes]:
    """Every generated file, by path relative to the output folder."""
    options = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS
    files = {"asyncapi.json": orjson.dumps(asyncapi_document(), option=options) + b"\n"}
    for cls in CATALOGUE.values():
        files[f"schemas/{schema_name(cls)}.json"] = (
            orjson.dumps(event_schema(cls), option=options) + b"\n"
        )
    return files


def write(folder: Path) -> list[Path]:
    """Write every generated file under ``folder``, removing stale schemas."""
    (folder / "schemas").mkdir(parents=True, exist_ok=True)
    files = render()
    for stale in (folder / "schemas").glob("*.json"):
        if f"schemas/{stale.name}" not in files:
            stale.unlink()
    written = []
    for relative, content in files.items():
        path = folder / relative
        path.write_bytes(content)
        written.append(path)
    return written


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/events")
    print(f"wrote {len(write(out))} files to {out}")  # noqa: T201
