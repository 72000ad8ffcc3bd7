"""Every public event of a project becomes one delivery per enabled webhook subscribed to it.

One batch subscription per catalogue event model, all under one name, so the consumer calls
``dispatch`` once per fetch with every fresh event: one query finds the endpoints of the
projects concerned, one statement inserts the deliveries, and their jobs are queued in the
same transaction (the consumer's), so an event is delivered if and only if it was consumed.
Events without a project (nothing a project member could subscribe to) are not delivered, nor
those of a deleted project (deleted by its owner or with their account): the deletion's own
``DatasetDeleted`` events are consumed after it. A delivery recorded just before a deletion is
cancelled when it is attempted (:mod:`.webhook_delivery`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from sds_common.bus import BatchItems, Subscription
from sds_common.db import UnitOfWork
from sds_common.events import CATALOGUE, Envelope, Event
from sds_gateway.adapters.orm import projects
from sds_gateway.adapters.webhooks import WebhookParts
from sds_gateway.domain.webhooks import delivery_id_for, message_body
from sds_gateway.handlers.webhook_delivery import add_deliveries

SUBSCRIPTION_NAME = "gateway.webhooks"


def event_data(envelope: Envelope) -> dict[str, Any]:
    """The ``data`` of a webhook message about ``envelope``."""
    return {
        "event_id": str(envelope.event_id),
        "version": envelope.version,
        "project_id": envelope.project_id,
        "correlation_id": envelope.correlation_id,
        "payload": envelope.payload,
    }


class WebhookDispatch:
    """Turns consumed events into deliveries."""

    def __init__(self, parts: WebhookParts) -> None:
        self._parts = parts

    async def dispatch(self, items: BatchItems, uow: UnitOfWork) -> None:
        """Record a delivery (and queue its job) per matching enabled endpoint."""
        envelopes = [envelope for envelope, _event in items if envelope.project_id]
        if not envelopes:
            return
        w = self._parts.tables.webhooks
        endpoints = (
            await uow.session.execute(
                select(w.c.id, w.c.project_id, w.c.event_types)
                .join(projects, projects.c.id == w.c.project_id)
                .where(
                    w.c.project_id.in_({e.project_id for e in envelopes}),
                    w.c.enabled.is_(True),
                    projects.c.deleted_at.is_(None),
                )
            )
        ).all()
        if not endpoints:
            return
        now = self._parts.clock()
        rows: list[dict[str, Any]] = []
        for envelope in envelopes:
            body: str | None = None
            for endpoint in endpoints:
                if endpoint.project_id != envelope.project_id:
                    continue
                if envelope.type not in endpoint.event_types:
                    continue
                if body is None:
                    body = message_body(
                        event_type=envelope.type,
                        occurred_at=envelope.occurred_at,
                        data=event_data(envelope),
                    )
                rows.append(
                    {
                        "id": delivery_id_for(
                            webhook_id=endpoint.id, event_id=str(envelope.event_id)
                        ),
                        "webhook_id": endpoint.id,
                        "project_id": envelope.project_id,
                        "event_id": str(envelope.event_id),
                        "event_type": envelope.type,
                        "body": body,
                        "created_at": now,
                    }
                )
        await add_deliveries(uow, self._parts.tables, rows)


def webhook_subscriptions(parts: WebhookParts) -> Sequence[Subscription]:
    """One batch subscription per event type, sharing one name (one call a fetch).

    At each type's latest version only: the consumer upcasts an older message for subscribers
    of a newer version, but hands it as it is to subscribers of its own version, and the read
    models' handlers subscribe to the latest; a webhook subscription at an old version would
    keep such a message from them. Webhooks deliver the envelope as it was written.
    """
    dispatch = WebhookDispatch(parts).dispatch
    latest: dict[str, type[Event]] = {}
    for (event_type, version), model in sorted(CATALOGUE.items()):
        if version >= latest.get(event_type, model).event_version:
            latest[event_type] = model
    return [
        Subscription.batch(model, dispatch, name=SUBSCRIPTION_NAME) for model in latest.values()
    ]
