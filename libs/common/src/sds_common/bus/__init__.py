"""The event bus: brokers (Kafka, in-process), outbox relay, idempotent consumers."""

from sds_common.bus.consumer import EventConsumer, wait_until
from sds_common.bus.kafka import KafkaBroker
from sds_common.bus.memory import MemoryBroker
from sds_common.bus.ports import Broker, OutgoingMessage, ReceivedMessage
from sds_common.bus.relay import OutboxRelay
from sds_common.bus.runtime import Messaging, all_topics, build_broker
from sds_common.bus.subscription import (
    BatchHandler,
    BatchItems,
    DeadLetter,
    DeadLetterHook,
    Handler,
    RetryPolicy,
    Subscription,
    Unrecognised,
)

__all__ = [
    "BatchHandler",
    "BatchItems",
    "Broker",
    "DeadLetter",
    "DeadLetterHook",
    "EventConsumer",
    "Handler",
    "KafkaBroker",
    "MemoryBroker",
    "Messaging",
    "OutboxRelay",
    "OutgoingMessage",
    "ReceivedMessage",
    "RetryPolicy",
    "Subscription",
    "Unrecognised",
    "all_topics",
    "build_broker",
    "wait_until",
]
