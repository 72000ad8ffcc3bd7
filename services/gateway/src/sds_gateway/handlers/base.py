"""Shared parts of the read-model handlers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

from sds_common.bus import DeadLetterHook, Handler, Subscription
from sds_common.db import UnitOfWork
from sds_common.events import Envelope, Event
from sds_gateway.adapters.notifier import JobNotifier
from sds_gateway.adapters.records import track
from sds_gateway.domain.status import RunStatus

E = TypeVar("E", bound=Event)


def subscribe(
    event: type[E],
    handler: Callable[[Envelope, E, UnitOfWork], Awaitable[None]],
    *,
    name: str | None = None,
    on_dead_letter: DeadLetterHook | None = None,
) -> Subscription:
    """Subscribe a handler typed for its own event model (the consumer passes that model)."""
    return Subscription.of(
        event, cast("Handler", handler), name=name, on_dead_letter=on_dead_letter
    )


class Projection:
    """Read-model handlers sharing the notifier that wakes progress streams."""

    def __init__(self, notifier: JobNotifier) -> None:
        self.notifier = notifier

    async def _finish(
        self, uow: UnitOfWork, *, job_id: str, event_type: str, status: RunStatus, **data: Any
    ) -> None:
        """Record a job's final status (succeeded jobs are at 100 %)."""
        message = data.get("message")
        await track(
            uow.session,
            self.notifier,
            job_id=job_id,
            event_type=event_type,
            status=status,
            data=data,
            progress=1.0 if status is RunStatus.SUCCEEDED else None,
            message=message if isinstance(message, str) else None,
        )
