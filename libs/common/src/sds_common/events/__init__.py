"""Event contracts shared by every service: envelope, payload models, catalogue, topics."""

from sds_common.events.access import (
    AccountDeleted,
    ApiKeyCreated,
    ApiKeyRevoked,
    AuthenticationFailed,
    ProjectMembershipChanged,
    SyntheticDataDownloaded,
)
from sds_common.events.base import Envelope, Event
from sds_common.events.catalog import (
    CATALOGUE,
    UnknownEventTypeError,
    UnsupportedEventVersionError,
    lookup,
    parse_payload,
    topic_of,
    upcast_to,
)
from sds_common.events.datasets import (
    ColumnSummary,
    DatasetDeleted,
    DatasetProfiled,
    DatasetRejected,
    DatasetUploaded,
)
from sds_common.events.evaluation import (
    EvaluationCompleted,
    EvaluationFailed,
    EvaluationRequested,
)
from sds_common.events.llm import ExplanationFailed, ExplanationGenerated, ExplanationRequested
from sds_common.events.privacy import (
    DpConfigRejected,
    PrivacyBudgetReleased,
    PrivacyBudgetReserved,
    PrivacyBudgetSpent,
    PrivacySpec,
    PublicMetadataDeclared,
)
from sds_common.events.training import (
    GenerationFailed,
    GenerationRequested,
    ModelTrained,
    SyntheticDataGenerated,
    TrainingCancelled,
    TrainingCancelRequested,
    TrainingFailed,
    TrainingProgress,
    TrainingRequested,
    TrainingStarted,
)

__all__ = [
    "CATALOGUE",
    "AccountDeleted",
    "ApiKeyCreated",
    "ApiKeyRevoked",
    "AuthenticationFailed",
    "ColumnSummary",
    "DatasetDeleted",
    "DatasetProfiled",
    "DatasetRejected",
    "DatasetUploaded",
    "DpConfigRejected",
    "Envelope",
    "EvaluationCompleted",
    "EvaluationFailed",
    "EvaluationRequested",
    "Event",
    "ExplanationFailed",
    "ExplanationGenerated",
    "ExplanationRequested",
    "GenerationFailed",
    "GenerationRequested",
    "ModelTrained",
    "PrivacyBudgetReleased",
    "PrivacyBudgetReserved",
    "PrivacyBudgetSpent",
    "PrivacySpec",
    "ProjectMembershipChanged",
    "PublicMetadataDeclared",
    "SyntheticDataDownloaded",
    "SyntheticDataGenerated",
    "TrainingCancelRequested",
    "TrainingCancelled",
    "TrainingFailed",
    "TrainingProgress",
    "TrainingRequested",
    "TrainingStarted",
    "UnknownEventTypeError",
    "UnsupportedEventVersionError",
    "lookup",
    "parse_payload",
    "topic_of",
    "upcast_to",
]
