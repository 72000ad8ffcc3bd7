"""What the gateway does with each event it consumes: keep its read models current, and turn
each event of a project into deliveries to that project's webhooks (``handlers.webhooks``).

Every handler is idempotent (the consumer's inbox drops redeliveries, and status updates are
conditional, see ``adapters.records``) and tolerates reordering: a status only moves forward, a
late progress report after the end changes nothing, and an event about a resource this gateway
never created is ignored.
"""

from __future__ import annotations

from collections.abc import Sequence

from sds_common.bus import Subscription
from sds_common.events import (
    DatasetProfiled,
    DatasetRejected,
    DpConfigRejected,
    EvaluationCompleted,
    EvaluationFailed,
    GenerationFailed,
    ModelTrained,
    PrivacyBudgetReleased,
    PrivacyBudgetReserved,
    PrivacyBudgetSpent,
    SyntheticDataGenerated,
    TrainingCancelled,
    TrainingFailed,
    TrainingProgress,
    TrainingStarted,
)
from sds_gateway.adapters.notifier import JobNotifier
from sds_gateway.adapters.webhooks import WebhookParts
from sds_gateway.handlers.base import subscribe
from sds_gateway.handlers.datasets import DatasetHandlers
from sds_gateway.handlers.lost import LostOutcomes
from sds_gateway.handlers.outputs import OutputHandlers
from sds_gateway.handlers.training import TrainingHandlers
from sds_gateway.handlers.webhooks import webhook_subscriptions


def subscriptions(*, notifier: JobNotifier, webhooks: WebhookParts) -> Sequence[Subscription]:
    """The gateway's event handlers."""
    ds = DatasetHandlers(notifier)
    tr = TrainingHandlers(notifier)
    out = OutputHandlers(notifier)
    # A run's final event that cannot be applied leaves the run failed, not running forever.
    lost = LostOutcomes(notifier)
    return (
        subscribe(DatasetProfiled, ds.dataset_profiled, on_dead_letter=lost.dataset),
        subscribe(DatasetRejected, ds.dataset_rejected, on_dead_letter=lost.dataset),
        subscribe(PrivacyBudgetReserved, ds.privacy_entry, name="gateway.privacy_reserved"),
        subscribe(PrivacyBudgetSpent, ds.privacy_entry, name="gateway.privacy_spent"),
        subscribe(PrivacyBudgetReleased, ds.privacy_entry, name="gateway.privacy_released"),
        subscribe(TrainingStarted, tr.training_started),
        subscribe(TrainingProgress, tr.training_progress),
        subscribe(ModelTrained, tr.model_trained, on_dead_letter=lost.generator),
        subscribe(TrainingFailed, tr.training_failed, on_dead_letter=lost.generator),
        subscribe(TrainingCancelled, tr.training_cancelled, on_dead_letter=lost.generator),
        subscribe(DpConfigRejected, tr.dp_config_rejected, on_dead_letter=lost.generator),
        subscribe(SyntheticDataGenerated, out.synthetic_generated, on_dead_letter=lost.synthetic),
        subscribe(GenerationFailed, out.generation_failed, on_dead_letter=lost.synthetic),
        subscribe(EvaluationCompleted, out.evaluation_completed, on_dead_letter=lost.evaluation),
        subscribe(EvaluationFailed, out.evaluation_failed, on_dead_letter=lost.evaluation),
        *webhook_subscriptions(webhooks),
    )
