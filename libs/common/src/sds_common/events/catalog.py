"""The event catalogue: every payload model, looked up by (type, version)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from sds_common.events import access, datasets, evaluation, llm, privacy, training
from sds_common.events.base import Envelope, Event


class UnknownEventTypeError(LookupError):
    """No payload model is registered under this type name."""


class UnsupportedEventVersionError(LookupError):
    """The type is known but not at this version (a newer producer, or a retired version)."""


def _concrete_events(modules: Iterable[object]) -> list[type[Event]]:
    return [
        value
        for module in modules
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, Event)
        and "event_type" in vars(value)
        and value.__module__ == getattr(module, "__name__", None)
    ]


def _build() -> Mapping[tuple[str, int], type[Event]]:
    table: dict[tuple[str, int], type[Event]] = {}
    for cls in _concrete_events((datasets, privacy, training, evaluation, llm, access)):
        key = (cls.event_type, cls.event_version)
        if key in table:
            raise RuntimeError(f"event {key} registered twice")
        table[key] = cls
    return MappingProxyType(table)


CATALOGUE: Mapping[tuple[str, int], type[Event]] = _build()


def lookup(event_type: str, version: int) -> type[Event]:
    """Return the payload model of ``event_type`` at ``version``.

    Raises:
        UnknownEventTypeError: the type is not in the catalogue.
        UnsupportedEventVersionError: the type is known, the version is not.
    """
    try:
        return CATALOGUE[(event_type, version)]
    except KeyError:
        known = sorted(v for (t, v) in CATALOGUE if t == event_type)
        if not known:
            raise UnknownEventTypeError(f"unknown event type {event_type!r}") from None
        raise UnsupportedEventVersionError(
            f"{event_type} version {version} is not supported (known: {known})"
        ) from None


def parse_payload(envelope: Envelope) -> Event:
    """Validate an envelope's payload against its registered model.

    Raises:
        UnknownEventTypeError: see ``lookup``.
        UnsupportedEventVersionError: see ``lookup``.
        pydantic.ValidationError: the payload does not match the model.
    """
    return lookup(envelope.type, envelope.version).model_validate(envelope.payload)


def upcast_to(event: Event, versions: Iterable[int]) -> Event | None:
    """``event`` upcast (:meth:`Event.upcast`) until its version is one of ``versions``.

    Returns:
        The upcast event, or None when no version in ``versions`` is reachable from it.
    """
    wanted = set(versions)
    while event.event_version not in wanted:
        newer = event.upcast()
        if newer is event or newer.event_version <= event.event_version:
            return None
        event = newer
    return event


def topic_of(event_type: str) -> str:
    """Return the logical topic an event type travels on (any version)."""
    for (name, _), cls in CATALOGUE.items():
        if name == event_type:
            return cls.topic
    raise UnknownEventTypeError(f"unknown event type {event_type!r}")
