"""Training methods: the registry, each method's parameter schema, and the request check.

Shared by the gateway (refuses a request before anything is queued) and the trainer (its
synthesizers parse the same parameter models, and it checks each request again as a second line).
"""

from sds_common.methods.params import (
    AIMParams,
    AutoParams,
    CTGANParams,
    CTGANPeerParams,
    MarginalParams,
    MethodParams,
    MSTParams,
)
from sds_common.methods.registry import (
    AIM,
    AUTO,
    CTGAN,
    DEFAULT_METHOD,
    DP_CTGAN,
    METHODS,
    MST,
    Method,
    UnknownMethodError,
    get_method,
    unknown_method_message,
)
from sds_common.methods.request import (
    REQUEST_KEYS,
    ColumnDeclaration,
    DatasetSchema,
    Refusal,
    RequestSettings,
    model_params,
    params_problems,
    refusal_code,
    sampling_problems,
    training_problems,
)

__all__ = [
    "AIM",
    "AUTO",
    "CTGAN",
    "DEFAULT_METHOD",
    "DP_CTGAN",
    "METHODS",
    "MST",
    "REQUEST_KEYS",
    "AIMParams",
    "AutoParams",
    "CTGANParams",
    "CTGANPeerParams",
    "ColumnDeclaration",
    "DatasetSchema",
    "MSTParams",
    "MarginalParams",
    "Method",
    "MethodParams",
    "Refusal",
    "RequestSettings",
    "UnknownMethodError",
    "get_method",
    "model_params",
    "params_problems",
    "refusal_code",
    "sampling_problems",
    "training_problems",
    "unknown_method_message",
]
