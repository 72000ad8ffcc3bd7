"""``auto``: the method and settings the product recommends for a table, chosen from public facts.

The choice reads only what is public before any statistic of the rows is released: the schema
(column kinds and count), the owner's declarations, the privacy target (ε) and the method facts.
It never reads the data's values, so it costs no budget and two tables with the same schema and
the same request get the same choice.

Why these rules (benchmarks/RESULTS.md, on this 2-core machine):

* ``aim`` had the best SDMetrics quality and ML utility of our methods on the census table at
  ε = 1 and 3 (``make bench-peers``: 0.98 against mst's 0.97 and dp-ctgan's 0.87), and fits in
  seconds to minutes; ``make bench-suite`` records how the default does on twelve real tables
  nobody tuned for (against the independent-columns baseline): it is the default.
* ``mst`` fits a fixed tree of 2-way marginals in one pass: it stays fast where AIM's rounds
  would grow with the number of columns (each round scores every candidate marginal), so it
  takes over on wide tables.
* ``dp-ctgan`` scored below both and fits one to two orders of magnitude slower on a CPU:
  ``auto`` does not pick it; it stays available by name.

The fitted model is the chosen method's; the report's ``choice`` records it and why.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Self

import pandas as pd  # type: ignore[import-untyped, unused-ignore]

from sds_common.methods import AUTO, AutoParams, Method
from sds_trainer.domain.synthesizers.base import (
    REGENERATED_KINDS,
    CheckpointFn,
    ColumnSpec,
    FitReport,
    PrivacyBudget,
    ProgressFn,
    StopFn,
    Synthesizer,
)
from sds_trainer.domain.synthesizers.errors import InvalidTrainingConfig, SamplingError
from sds_trainer.domain.synthesizers.marginal import AIMSynthesizer, MSTSynthesizer
from sds_trainer.domain.synthesizers.params import parse_params

#: Above this many modelled columns, ``auto`` picks ``mst`` (AIM's rounds grow with the columns).
MAX_AIM_COLUMNS = 60
#: ``params`` that ``auto`` passes on to the method it picks (all others are refused): the
#: fields of its shared params model, ``sds_common.methods.AutoParams``.
PASSED_ON = frozenset(AutoParams.model_fields)
_MAGIC = b"sds-auto\x00"


def choose(
    columns: Sequence[ColumnSpec], *, privacy: PrivacyBudget | None, params: Mapping[str, Any]
) -> tuple[type[Synthesizer], dict[str, Any], list[str]]:
    """The method, its params and the reasons, from public facts only (see the module).

    Raises:
        InvalidTrainingConfig: unknown params, or no privacy settings (``auto`` is DP only).
    """
    unknown = sorted(set(params) - PASSED_ON)
    if unknown:
        raise InvalidTrainingConfig(
            [f"unknown parameter {k!r} for auto (it takes {sorted(PASSED_ON)})" for k in unknown]
        )
    if privacy is None:
        raise InvalidTrainingConfig(
            ["auto picks a differentially private method: privacy settings are required"]
        )
    modelled = [c for c in columns if c.kind not in REGENERATED_KINDS]
    declared = sum(1 for c in modelled if c.bounds is not None or c.categories is not None)
    reasons = [
        f"{len(modelled)} modelled column(s) ({declared} with declared public metadata), "
        f"ε = {privacy.epsilon:g}: chosen from the schema and the request only, no statistic of "
        "the rows"
    ]
    chosen: type[Synthesizer]
    if len(modelled) > MAX_AIM_COLUMNS:
        chosen = MSTSynthesizer
        reasons.append(
            f"mst: more than {MAX_AIM_COLUMNS} modelled columns, where AIM's rounds (every "
            "candidate marginal scored each round) would take long; mst fits in one pass"
        )
        out = {k: v for k, v in params.items() if k in ("checkpoint_every", "device")}
    else:
        chosen = AIMSynthesizer
        reasons.append(
            "aim: the best quality and ML utility of our methods in the benchmarks "
            "(benchmarks/RESULTS.md), fitted in seconds to minutes"
        )
        out = dict(params)
        if "focus" in out:
            reasons.append(f"aim favours the declared target column {out['focus']!r} (focus)")
    return chosen, out, reasons


class AutoSynthesizer:
    """The recommended method for the table (see the module docstring)."""

    #: Its facts (DP, runs in rounds, favours the target through ``focus``) are the shared
    #: registry's.
    method: ClassVar[Method] = AUTO
    name: ClassVar[str] = AUTO.name
    differentially_private: ClassVar[bool] = AUTO.differentially_private

    def __init__(self) -> None:
        self.chosen: Synthesizer | None = None

    @property
    def ledger(self) -> Any:
        """The chosen method's ledger, when it keeps one."""
        return getattr(self.chosen, "ledger", None)

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
        """Choose (:func:`choose`), then fit the chosen method with the same arguments."""
        parse_params(AUTO, params, private=privacy is not None, n_rows=len(data))
        cls, chosen_params, reasons = choose(columns, privacy=privacy, params=params)
        model = cls()
        report = model.fit(
            data,
            columns=columns,
            privacy=privacy,
            params=chosen_params,
            progress=progress,
            should_stop=should_stop,
            checkpoint=checkpoint,
            resume_from=resume_from,
            seed=seed,
        )
        self.chosen = model
        choice = {"method": cls.name, "params": chosen_params, "reasons": reasons}
        return FitReport(**{**report.__dict__, "choice": choice})

    def _require_fitted(self) -> Synthesizer:
        if self.chosen is None:
            raise SamplingError("the model is not fitted")
        return self.chosen

    def sample(
        self, n: int, *, seed: int | None = None, conditions: Mapping[str, Any] | None = None
    ) -> pd.DataFrame:
        """Rows from the chosen method's model."""
        return self._require_fitted().sample(n, seed=seed, conditions=conditions)

    def save(self) -> bytes:
        """The chosen method's name, then its saved model."""
        model = self._require_fitted()
        return _MAGIC + model.name.encode() + b"\x00" + model.save()

    @classmethod
    def load(cls, data: bytes) -> Self:
        """Rebuild from :meth:`save`.

        Raises:
            SamplingError: the bytes are not a saved ``auto`` model.
        """
        if not data.startswith(_MAGIC):
            raise SamplingError("not a saved auto model")
        name, _, inner = data[len(_MAGIC) :].partition(b"\x00")
        methods = {c.name: c for c in (AIMSynthesizer, MSTSynthesizer)}
        method = methods.get(name.decode(errors="replace"))
        if method is None:
            raise SamplingError(f"a saved auto model of an unknown method {name!r}")
        out = cls()
        out.chosen = method.load(io.BytesIO(inner).getvalue())
        return out
