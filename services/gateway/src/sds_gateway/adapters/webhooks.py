"""What webhook routes and delivery jobs share, built once from the settings."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sds_common.settings import Runtime
from sds_gateway.adapters.orm import webhook_tables
from sds_gateway.adapters.records import utcnow
from sds_gateway.adapters.secret_box import SecretBox, load_or_create_embedded_key
from sds_gateway.adapters.webhook_http import HttpSender, Sender, TargetPolicy
from sds_gateway.adapters.webhook_tables import WebhookTables
from sds_gateway.config import GatewaySettings
from sds_gateway.domain.webhook_targets import AllowList
from sds_gateway.domain.webhooks import DeliveryPolicy

_RANDOM = secrets.SystemRandom()


@dataclass(frozen=True)
class WebhookParts:
    """Tables, secret sealing, target checks, sender, retry policy, clock and jitter source.

    ``box`` is None when no key is configured (distributed without ``SDS_WEBHOOK_SECRET_KEY``):
    webhooks can then not be created. Tests pass a fake ``sender``, ``clock`` or ``rand``.
    """

    box: SecretBox | None
    targets: TargetPolicy
    policy: DeliveryPolicy
    sender: Sender = field(default_factory=HttpSender)
    tables: WebhookTables = webhook_tables
    clock: Callable[[], datetime] = utcnow
    rand: Callable[[], float] = _RANDOM.random


def secret_box(settings: GatewaySettings) -> SecretBox | None:
    """The configured key's box, the embedded runtime's generated one, or None."""
    key = settings.webhook_secret_key.get_secret_value()
    if key:
        return SecretBox(key)
    if settings.runtime is Runtime.EMBEDDED:
        return SecretBox(load_or_create_embedded_key(settings.data_dir))
    return None


def build_webhook_parts(settings: GatewaySettings) -> WebhookParts:
    """The webhook parts the settings describe."""
    return WebhookParts(
        box=secret_box(settings),
        targets=TargetPolicy(allow=AllowList.parse(settings.webhook_allowed_targets)),
        policy=DeliveryPolicy(
            schedule_s=settings.webhook_retry_schedule_s,
            timeout_s=settings.webhook_timeout_s,
            disable_after_failures=settings.webhook_disable_after_failures,
            disable_after_s=settings.webhook_disable_after_s,
        ),
    )
