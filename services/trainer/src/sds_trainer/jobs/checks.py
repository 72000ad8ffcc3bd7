"""The trainer's second line: the request check the gateway ran, again, when the job starts.

The gateway refuses a bad request before it is queued (``sds_common.methods``); a request can
still reach the bus another way, or the dataset's schema change in between. The same check then
fails the job with the refusals' code and reasons, before any budget is reserved or any data is
read, never as an internal error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sds_common.events import TrainingRequested
from sds_common.jobs import JobFailedError
from sds_common.methods import (
    METHODS,
    DatasetSchema,
    Refusal,
    RequestSettings,
    refusal_code,
    sampling_problems,
    training_problems,
)
from sds_common.privacy import PolicyLimits


def refuse_training(request: TrainingRequested, dataset: Any, *, epsilon_cap: float) -> None:
    """Fail the job if the gateway's training check refuses ``request`` on ``dataset``'s row.

    Raises:
        JobFailedError: the refusals' code (``invalid_privacy`` announces DpConfigRejected).
    """
    _fail(
        training_problems(
            method=request.method,
            params=request.params,
            privacy=request.privacy,
            dataset=DatasetSchema(columns=_kinds(dataset.columns), train_rows=dataset.train_rows),
            limits=PolicyLimits(epsilon_cap=epsilon_cap),
        )
    )


def refuse_sampling(
    *, method: str, conditions: Mapping[str, Any], columns: Sequence[Mapping[str, Any]] | None
) -> None:
    """Fail the job if a sample's conditions do not fit the dataset's schema and the method.

    A retired method's models, or a dataset the trainer no longer knows, are left to the model.

    Raises:
        JobFailedError: ``invalid_conditions``.
    """
    if method in METHODS and columns is not None:
        _fail(sampling_problems(method=method, conditions=conditions, columns=_kinds(columns)))


def fit_seed(request: TrainingRequested) -> int:
    """The fit seed the request set (checked by :func:`refuse_training`), 0 by default."""
    return RequestSettings.model_validate({"seed": request.params.get("seed", 0)}).seed


def _kinds(columns: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    return {str(c["name"]): str(c["kind"]) for c in columns}


def _fail(refusals: Sequence[Refusal]) -> None:
    if refusals:
        raise JobFailedError(refusal_code(refusals), "; ".join(r.message for r in refusals))
