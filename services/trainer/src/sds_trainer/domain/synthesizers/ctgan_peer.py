"""``ctgan``: the ``ctgan`` package (SDV, Business Source License) as a NON-DP peer.

For benchmarks and for users who opt out of DP. The package is an optional extra and is imported
lazily, so the core model code never depends on it.
"""

from __future__ import annotations

import io
import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Self

import pandas as pd  # type: ignore[import-untyped, unused-ignore]
import torch

from sds_common.methods import CTGAN, CTGANPeerParams, Method, params_problems
from sds_trainer.domain.synthesizers.base import (
    CheckpointFn,
    ColumnSpec,
    FitReport,
    PrivacyBudget,
    ProgressFn,
    StopFn,
    validate_columns,
)
from sds_trainer.domain.synthesizers.errors import (
    InvalidTrainingConfig,
    SamplingError,
    TrainingCancelled,
)

_MISSING_TOKEN = "\x00missing"  # noqa: S105 - a sentinel, not a secret


def _import_ctgan() -> Any:
    try:
        import ctgan  # noqa: PLC0415 - optional extra, imported only when this peer is used
    except ImportError as exc:
        raise InvalidTrainingConfig(
            ["install the ctgan extra (sds-trainer[ctgan]); note its Business Source License"]
        ) from exc
    return ctgan


class CTGANPeerSynthesizer:
    """Wraps ``ctgan.CTGAN``; ``differentially_private = False`` (it reads raw statistics)."""

    method: ClassVar[Method] = CTGAN
    name: ClassVar[str] = CTGAN.name
    differentially_private: ClassVar[bool] = CTGAN.differentially_private

    def __init__(self) -> None:
        self._model: Any = None
        self._dtypes: dict[str, str] = {}
        self._discrete: list[str] = []

    def fit(
        self,
        data: pd.DataFrame,
        *,
        columns: Sequence[ColumnSpec],
        privacy: PrivacyBudget | None,
        params: Mapping[str, Any],
        progress: ProgressFn | None = None,
        should_stop: StopFn | None = None,
        checkpoint: CheckpointFn | None = None,
        resume_from: bytes | None = None,
        seed: int = 0,
    ) -> FitReport:
        """Train the package's CTGAN (all epochs in one call: no progress, checkpoints or stop).

        Raises:
            InvalidTrainingConfig: a privacy budget was given (this peer is not DP), unknown
                params, or the extra is missing.
        """
        del progress, checkpoint  # the package trains all epochs in one call
        parsed, refusals = params_problems(CTGAN, params, private=False, n_rows=len(data))
        reasons = [r.message for r in refusals]
        if privacy is not None:
            reasons.append("method 'ctgan' is not differentially private; use 'dp-ctgan'")
        if resume_from is not None:
            reasons.append("method 'ctgan' cannot resume from a checkpoint")
        if reasons:
            raise InvalidTrainingConfig(reasons)
        kept = validate_columns(data, columns)
        ctgan = _import_ctgan()
        if should_stop is not None and should_stop():
            raise TrainingCancelled(epoch=0, epsilon_spent=0.0)
        frame = data[[c.name for c in kept]].copy()
        self._dtypes = {c: str(frame[c].dtype) for c in frame.columns}
        self._discrete = [c.name for c in kept if c.kind in ("categorical", "boolean")]
        for c in self._discrete:
            frame[c] = frame[c].astype(object).where(frame[c].notna(), _MISSING_TOKEN).astype(str)
        torch.manual_seed(seed)
        start = time.perf_counter()
        assert isinstance(parsed, CTGANPeerParams)  # no refusal: parsed
        # Only what the request set: the package keeps its own defaults for the rest.
        self._model = ctgan.CTGAN(
            **parsed.model_dump(exclude_unset=True), cuda=torch.cuda.is_available()
        )
        self._model.set_random_state(seed)
        self._model.fit(frame, self._discrete)
        epochs, batch = parsed.epochs, parsed.batch_size
        return FitReport(
            epsilon=None,
            delta=None,
            preprocessing_epsilon=0.0,
            training_epsilon=None,
            accountant=None,
            noise_multiplier=None,
            sample_rate=batch / len(frame),
            steps=epochs * max(len(frame) // batch, 1),
            epochs=epochs,
            max_grad_norm=None,
            batch_size=batch,
            device="cuda" if torch.cuda.is_available() else "cpu",
            seconds=time.perf_counter() - start,
        )

    def sample(
        self, n: int, *, seed: int | None = None, conditions: Mapping[str, Any] | None = None
    ) -> pd.DataFrame:
        """Generate ``n`` rows; one categorical equality condition is passed to the package."""
        if self._model is None:
            raise SamplingError("the model is not fitted")
        if seed is not None:
            self._model.set_random_state(seed)
        if conditions and len(conditions) != 1:
            raise SamplingError("ctgan conditions on exactly one categorical column")
        if conditions:
            ((column, value),) = conditions.items()
            out = self._model.sample(n, condition_column=column, condition_value=str(value))
        else:
            out = self._model.sample(n)
        for c in self._discrete:
            out[c] = out[c].where(out[c] != _MISSING_TOKEN, None)
        for c, dtype in self._dtypes.items():
            try:
                out[c] = out[c].astype(dtype)
            except (TypeError, ValueError):
                continue  # e.g. a generated missing value in an integer column
        return out

    def save(self) -> bytes:
        """Pickle the package model (needs full unpickling on load: trusted storage only)."""
        if self._model is None:
            raise SamplingError("the model is not fitted")
        buf = io.BytesIO()
        torch.save({"model": self._model, "dtypes": self._dtypes, "discrete": self._discrete}, buf)
        return buf.getvalue()

    @classmethod
    def load(cls, data: bytes) -> Self:
        """Load what :meth:`save` wrote (the package's object is not weights-only loadable)."""
        _import_ctgan()
        state = torch.load(io.BytesIO(data), weights_only=False)
        out = cls()
        out._model, out._dtypes, out._discrete = state["model"], state["dtypes"], state["discrete"]
        return out
