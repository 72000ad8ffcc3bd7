"""Private-PGM's estimation: the model whose marginals best fit the noisy measurements.

Given Gaussian measurements ``y_i = M_{c_i}(D) + N(0, sigma_i²)`` (all post-processing from here
on), find the distribution (times the public row count ``n``) minimising::

    L(μ) = Σ_i ||μ_{c_i} - y_i||² / (2·sigma_i²)

over the marginal polytope of the cliques' junction tree (McKenna, Sheldon & Miklau 2019). The
minimiser is a log-linear model over the measured cliques, found by entropic mirror descent:
``θ ← θ - alpha·∇_μ L`` on the factors, then belief propagation gives ``μ``. The step ``alpha``
halves until the loss falls by at least half of its first-order prediction (backtracking line
search) and doubles again after two steps accepted at the first try; iterations stop early once
the relative improvement stays below ``tol`` for a few steps. Warm starts keep the factors
between calls.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sds_trainer.domain.synthesizers.marginal.graphical_model import (
    FloatArray,
    GraphicalModel,
    reduce_axes,
)
from sds_trainer.domain.synthesizers.marginal.junction_tree import Clique

_PATIENCE = 3
#: Accepted first tries after which the step is doubled again.
_GROW_AFTER = 2


@dataclass(frozen=True)
class Measurement:
    """Noisy counts of one marginal (cells in the clique's row-major order) and their noise."""

    clique: Clique
    values: FloatArray
    sigma: float


@dataclass(frozen=True)
class Fit:
    """Where one estimation ended."""

    loss: float
    iterations: int
    beliefs: list[FloatArray]


class _Objective:
    """The loss, grouped by clique: ``Σ_c W_c/2·||μ_c||² - <b_c, μ_c> + const``."""

    def __init__(self, model: GraphicalModel, measurements: Sequence[Measurement]) -> None:
        self.model = model
        self.weight: dict[Clique, float] = {}
        self.target: dict[Clique, FloatArray] = {}
        self.const = 0.0
        for m in measurements:
            clique = tuple(sorted(m.clique))
            shape = tuple(model.sizes[a] for a in clique)
            w = 1.0 / m.sigma**2
            y = np.asarray(m.values, dtype=np.float64).reshape(shape)
            self.weight[clique] = self.weight.get(clique, 0.0) + w
            self.target[clique] = self.target.get(clique, np.zeros(shape)) + w * y
            self.const += 0.5 * w * float(np.dot(y.ravel(), y.ravel()))

        # Each measured marginal is summed from the smallest table that holds it: a tree
        # clique's, or an already computed larger measured marginal (cheaper than the clique).
        self.order = sorted(self.weight, key=lambda c: (-len(c), c))
        self.source: dict[Clique, Clique | int] = {}
        for i, clique in enumerate(self.order):
            home = model.home(clique)
            assert home is not None  # measured cliques are factors, hence inside the tree
            best: Clique | int = home
            best_cells = math.prod(model.sizes[a] for a in model.tree.cliques[home])
            for larger in self.order[:i]:
                cells = math.prod(model.sizes[a] for a in larger)
                if set(clique) < set(larger) and cells < best_cells:
                    best, best_cells = larger, cells
            self.source[clique] = best

    def evaluate(
        self, factors: dict[Clique, FloatArray]
    ) -> tuple[float, dict[Clique, FloatArray], dict[Clique, FloatArray], list[FloatArray]]:
        model = self.model
        beliefs = model.calibrate(model.potentials(factors))
        cliques = model.tree.cliques
        loss = self.const
        grads: dict[Clique, FloatArray] = {}
        mus: dict[Clique, FloatArray] = {}
        for clique in self.order:
            source = self.source[clique]
            if isinstance(source, int):
                table, full = beliefs[source], cliques[source]
            else:
                table, full = mus[source], source
            mu = table.sum(axis=reduce_axes(full, clique)) if len(full) > len(clique) else table
            if isinstance(source, int):
                mu = mu * model.total
            w, b = self.weight[clique], self.target[clique]
            loss += 0.5 * w * float(np.vdot(mu, mu)) - float(np.vdot(b, mu))
            grads[clique] = w * mu - b
            mus[clique] = mu
        return loss, grads, mus, beliefs


class Estimator:
    """Mirror descent on the model's factors (warm-started between calls)."""

    def __init__(self, model: GraphicalModel) -> None:
        self.model = model
        self.step = 1.0 / max(model.total, 1.0)

    def fit(self, measurements: Sequence[Measurement], *, iters: int, tol: float = 1e-5) -> Fit:
        """Run at most ``iters`` iterations from the current factors; keeps the result.

        Args:
            measurements: Every measurement so far (their cliques become factors).
            iters: Most iterations (each costs one belief propagation or a few).
            tol: Relative loss improvement under which (for a few iterations) it stops.

        Returns:
            The final loss, the iterations run and the calibrated log-beliefs.
        """
        model = self.model
        for m in measurements:
            model.add_clique(tuple(sorted(m.clique)))
        objective = _Objective(model, measurements)
        factors = {c: v.copy() for c, v in model.factors.items()}
        loss, grads, mus, beliefs = objective.evaluate(factors)
        quiet = streak = done = 0
        while done < iters:
            done += 1
            if streak >= _GROW_AFTER:
                self.step *= 2.0
                streak = 0
            first = True
            for _ in range(40):
                trial = dict(factors)
                for clique, g in grads.items():
                    trial[clique] = factors[clique] - self.step * g
                new_loss, new_grads, new_mus, new_beliefs = objective.evaluate(trial)
                predicted = sum(float(np.vdot(grads[c], mus[c] - new_mus[c])) for c in grads)
                if loss - new_loss >= 0.5 * predicted and np.isfinite(new_loss):
                    break
                self.step *= 0.5
                first = False
            streak = streak + 1 if first else 0
            improvement = loss - new_loss
            factors, loss, grads, mus, beliefs = trial, new_loss, new_grads, new_mus, new_beliefs
            quiet = quiet + 1 if improvement < tol * max(abs(loss), 1.0) else 0
            if quiet >= _PATIENCE:
                break
        model.factors = factors
        return Fit(loss=loss, iterations=done, beliefs=beliefs)
