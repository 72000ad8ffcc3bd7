"""Builds a service's messaging from settings: broker, outbox relay, consumer group."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sds_common.bus.consumer import EventConsumer
from sds_common.bus.kafka import KafkaBroker
from sds_common.bus.memory import MemoryBroker
from sds_common.bus.ports import Broker
from sds_common.bus.relay import OutboxRelay
from sds_common.bus.subscription import FaultHook, RetryPolicy, Subscription
from sds_common.db.uow import Database
from sds_common.events import topics as topic_names
from sds_common.settings import BusKind, Settings
from sds_common.telemetry.metrics import Metrics

BROKERS: dict[BusKind, Callable[[Settings], Broker]] = {
    BusKind.MEMORY: lambda _settings: MemoryBroker(),
    BusKind.KAFKA: lambda settings: KafkaBroker(
        bootstrap_servers=settings.kafka_bootstrap_servers, client_id=settings.service_name
    ),
}


def build_broker(settings: Settings) -> Broker:
    """Create the broker the settings ask for (not started)."""
    return BROKERS[settings.bus](settings)


def all_topics(settings: Settings) -> list[str]:
    """Every physical topic of the catalogue, with its dead-letter topic."""
    names = [settings.topic(t) for t in topic_names.ALL]
    return names + [topic_names.dlq(t) for t in names]


class Messaging:
    """A service's outbox relay and consumer group over one broker.

    Args:
        broker: shared broker (the embedded runtime shares one among all services).
        database: the service's database.
        group_id: the consumer group; no consumer is started when ``subscriptions`` is empty.
        subscriptions: the service's event handlers.
        settings: retries, poll interval, topic prefix.
        fault_hook: test-only, see ``EventConsumer``.
        metrics: the process's metrics (the consumer counts dead letters and unknown types).
    """

    def __init__(
        self,
        *,
        broker: Broker,
        database: Database,
        group_id: str,
        subscriptions: Sequence[Subscription],
        settings: Settings,
        fault_hook: FaultHook | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.broker = broker
        self.settings = settings
        self.relay = OutboxRelay(
            database=database,
            broker=broker,
            poll_interval_s=settings.outbox_poll_interval_ms / 1000,
        )
        self.consumer = (
            EventConsumer(
                group_id=group_id,
                broker=broker,
                database=database,
                subscriptions=subscriptions,
                actor=group_id,
                retry=RetryPolicy(
                    max_retries=settings.bus_max_retries,
                    first_backoff_s=settings.bus_retry_backoff_ms / 1000,
                ),
                fault_hook=fault_hook,
                metrics=metrics,
            )
            if subscriptions
            else None
        )

    async def start(self) -> None:
        """Create topics, start publishing and consuming."""
        await self.broker.start()
        await self.broker.ensure_topics(all_topics(self.settings))
        self.relay.start()
        if self.consumer is not None:
            self.consumer.start()

    async def stop(self) -> None:
        """Stop consuming (finishing the batch in flight), flush the outbox."""
        if self.consumer is not None:
            await self.consumer.stop()
        await self.relay.stop()
