"""One training run of a marginal synthesizer: data marginals, measurements, rounds.

The session is the only object that reads the encoded rows after preprocessing. It releases
them through :meth:`Session.measure` (the Gaussian mechanism, charged to the ledger *before*
the noise is drawn) and :meth:`Session.select` (the exponential mechanism, likewise); everything
else (the model, the estimates, progress, checkpoints) is post-processing of those releases.

Noise comes from numpy's PCG64 seeded by the operating system's entropy, never by the request's
``seed``: a noise stream that anyone can replay from a known seed could be subtracted from the
released marginals, voiding the guarantee. The fit is therefore not reproducible; sampling from
a fitted model is (see ``sample(seed=...)``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sds_trainer.domain.synthesizers.base import CheckpointFn, EpochReport, ProgressFn, StopFn
from sds_trainer.domain.synthesizers.errors import TrainingCancelled
from sds_trainer.domain.synthesizers.marginal.accounting import ZCDPLedger
from sds_trainer.domain.synthesizers.marginal.estimation import Estimator, Fit, Measurement
from sds_trainer.domain.synthesizers.marginal.graphical_model import (
    FloatArray,
    GraphicalModel,
    IntArray,
)
from sds_trainer.domain.synthesizers.marginal.junction_tree import Clique
from sds_trainer.domain.synthesizers.marginal.state import pack

CHECKPOINT_FORMAT = "sds-marginal-checkpoint"
CHECKPOINT_VERSION = 1


@dataclass
class Callbacks:
    """The synthesizer protocol's hooks for one fit."""

    progress: ProgressFn | None = None
    should_stop: StopFn | None = None
    checkpoint: CheckpointFn | None = None
    checkpoint_every: int = 1


@dataclass
class Resumed:
    """What a checkpoint carries into a resumed run."""

    round: int
    measurements: list[Measurement]
    factors: dict[Clique, FloatArray]
    extra: dict[str, Any]
    losses: list[dict[str, float]] = field(default_factory=list)


class Session:
    """Measurements, model and ledger of one run (see the module docstring)."""

    def __init__(
        self,
        *,
        codes: IntArray,
        sizes: Sequence[int],
        ledger: ZCDPLedger,
        callbacks: Callbacks,
        header: Mapping[str, Any],
        resumed: Resumed | None = None,
    ) -> None:
        self.codes = codes
        self.sizes = tuple(sizes)
        self.ledger = ledger
        self.callbacks = callbacks
        self.header = dict(header)
        self.noise = np.random.default_rng(np.random.SeedSequence())
        self.model = GraphicalModel(self.sizes, total=float(len(codes)))
        self.estimator = Estimator(self.model)
        self.measurements: list[Measurement] = []
        self.losses: list[dict[str, float]] = []
        self.round = 0
        self.extra: dict[str, Any] = {}
        self._marginals: dict[Clique, FloatArray] = {}
        self.beliefs: list[FloatArray] | None = None
        if resumed is not None:
            self.round = resumed.round
            self.measurements = list(resumed.measurements)
            self.extra = dict(resumed.extra)
            self.losses = list(resumed.losses)
            for clique, values in resumed.factors.items():
                self.model.add_clique(clique, values)

    @property
    def rows(self) -> int:
        """Number of rows (public)."""
        return len(self.codes)

    def cells(self, clique: Clique) -> int:
        """Cells of a marginal over ``clique``."""
        return math.prod(self.sizes[a] for a in clique)

    def data_marginal(self, clique: Clique) -> FloatArray:
        """Exact counts over ``clique`` (row-major over its sorted attributes). Private."""
        clique = tuple(sorted(clique))
        if clique not in self._marginals:
            self.poll()  # a pass over every row: a round makes hundreds
            shape = tuple(self.sizes[a] for a in clique)
            index = np.ravel_multi_index(tuple(self.codes[:, a] for a in clique), shape)
            counts = np.bincount(index, minlength=math.prod(shape))
            self._marginals[clique] = counts.astype(np.float64)
        return self._marginals[clique]

    # ---- the two mechanisms ----------------------------------------------------------------
    def measure(self, clique: Clique, *, sigma: float, label: str) -> Measurement:
        """Release the marginal over ``clique`` with Gaussian noise ``sigma`` (L2 sensitivity 1)."""
        clique = tuple(sorted(clique))
        self.poll()
        self.ledger.charge_gaussian(label, sigma=sigma)
        exact = self.data_marginal(clique)
        noisy = exact + self.noise.normal(scale=sigma, size=exact.shape)
        measurement = Measurement(clique=clique, values=noisy, sigma=sigma)
        self.measurements.append(measurement)
        self.model.add_clique(clique)
        return measurement

    def select(
        self, scores: Sequence[float], *, epsilon: float, sensitivity: float, label: str
    ) -> list[int]:
        """The exponential mechanism: ``P(i) ∝ exp(ε·score_i / (2·sensitivity))``.

        Returns candidate indices in the order of their Gumbel-perturbed scores, best first
        (Gumbel-max): the first index is the mechanism's choice over all candidates, and the
        first of them that passes any data-independent filter is its choice over the filtered
        set, so a filter may be checked lazily in this order.
        """
        self.poll()
        self.ledger.charge_exponential(label, epsilon=epsilon)
        q = np.asarray(scores, dtype=np.float64) * (epsilon / (2.0 * sensitivity))
        perturbed = q + self.noise.gumbel(size=q.shape)
        return [int(i) for i in np.argsort(-perturbed, kind="stable")]

    # ---- estimation ----------------------------------------------------------------------
    def estimate(self, *, iters: int) -> Fit:
        """Refit the model to every measurement (warm start)."""
        self.poll()
        fit = self.estimator.fit(self.measurements, iters=iters)
        self.beliefs = fit.beliefs
        return fit

    def model_tables(self) -> list[FloatArray]:
        """The current model's clique counts (after :meth:`estimate`)."""
        if self.beliefs is None:
            self.estimate(iters=1)
        assert self.beliefs is not None
        return self.model.clique_marginals(self.beliefs)

    # ---- rounds ----------------------------------------------------------------------------
    def poll(self) -> None:
        """Honour a stop request now, between two releases or passes over the data.

        A round of a large table takes seconds, so the stop is not left to the round's end. The
        ledger holds every release made so far (each is charged before its noise is drawn),
        which is what the cancelled run is charged; a handed-back run resumes from its last
        checkpoint, so the unfinished round's releases are never published and are taken again
        on the books.

        Raises:
            TrainingCancelled: ``should_stop`` asked to stop.
        """
        should_stop = self.callbacks.should_stop
        if should_stop is not None and should_stop():
            raise TrainingCancelled(epoch=self.round, epsilon_spent=self.ledger.epsilon())

    def end_round(self, *, total_rounds: int, losses: dict[str, float]) -> None:
        """Checkpoint, announce, and honour a stop request, in that order.

        Raises:
            TrainingCancelled: ``should_stop`` asked to stop.
        """
        self.round += 1
        self.losses.append(dict(losses))
        cb = self.callbacks
        if cb.checkpoint is not None and self.round % cb.checkpoint_every == 0:
            cb.checkpoint(self.round, self.checkpoint_bytes())
        spent = self.ledger.epsilon()
        if cb.progress is not None:
            cb.progress(
                EpochReport(
                    epoch=self.round,
                    total_epochs=max(total_rounds, self.round),
                    epsilon_spent_so_far=spent,
                    losses=dict(losses),
                )
            )
        if cb.should_stop is not None and cb.should_stop():
            raise TrainingCancelled(epoch=self.round, epsilon_spent=spent)

    def checkpoint_bytes(self) -> bytes:
        """The run's state after this round: DP releases and model only, no data, no RNG."""
        factors = list(self.model.factors.items())
        header = {
            **self.header,
            "format": CHECKPOINT_FORMAT,
            "version": CHECKPOINT_VERSION,
            "ledger": self.ledger.to_state(),
            "round": self.round,
            "extra": self.extra,
            "losses": self.losses,
            "measurements": [[list(m.clique), m.sigma] for m in self.measurements],
            "factors": [list(c) for c, _ in factors],
        }
        arrays = {f"y{i}": m.values for i, m in enumerate(self.measurements)}
        arrays.update({f"f{i}": v.ravel() for i, (_, v) in enumerate(factors)})
        return pack(header, arrays)


def read_resumed(header: Mapping[str, Any], arrays: Mapping[str, FloatArray]) -> Resumed:
    """The :class:`Resumed` part of an unpacked checkpoint."""
    measurements = [
        Measurement(clique=tuple(int(a) for a in clique), values=arrays[f"y{i}"], sigma=sigma)
        for i, (clique, sigma) in enumerate(header["measurements"])
    ]
    factors = {
        tuple(int(a) for a in clique): arrays[f"f{i}"] for i, clique in enumerate(header["factors"])
    }
    return Resumed(
        round=int(header["round"]),
        measurements=measurements,
        factors=factors,
        extra=dict(header["extra"]),
        losses=[dict(x) for x in header["losses"]],
    )
