"""``aim``: AIM, the adaptive and iterative mechanism (McKenna, Mullins, Sheldon & Miklau 2022).

Select-measure-generate over low-order marginals, all in zCDP (:mod:`.accounting`):

1. *Workload and candidates*: every marginal of ``degree`` columns (a seeded, data-independent
   subset beyond ``max_workload``); the candidates are its downward closure, each weighted by
   its overlap with the workload, ``w_r = Σ_{s ∈ W} c_s·|r ∩ s|``. ``c_s`` is ``focus_weight``
   for the workload marginals that hold the ``focus`` column (by default the dataset's target
   column, declared by the user, so public) and 1 for the others: the rounds then favour what a
   model predicting that column needs, and the other marginals keep their say.
2. *Initialisation*: with ``T`` = ``rounds`` (default 4·columns) and the budget ``rho`` left
   after the preprocessing, every 1-way marginal is measured with
   ``sigma = √(T / (2·0.9·rho))``.
3. *Rounds*: the exponential mechanism at ``ε = √(8·0.1·rho / T)`` picks the candidate with the
   largest ``w_r·(||M_r(D) - M_r(model)||₁ - √(2/π)·sigma·cells(r))`` (error beyond the noise
   its measurement would add), among those that keep the model's junction tree under
   ``max_model_cells · (rho spent / rho)`` cells (or that the model already holds); the
   quality's sensitivity is the largest weight among the candidates considered. The pick is
   measured with the Gaussian mechanism at ``sigma`` and the model re-estimated
   (:mod:`.estimation`). When the measurement moved the model's estimate of that marginal by
   less than its expected noise, ``sigma`` halves and ``ε`` doubles (annealing). When what is
   left would not pay two more rounds, a last round spends exactly the rest (0.9 / 0.1).
4. *Generation*: a final, longer estimation; rows are then drawn i.i.d. from the model.

The model's marginals over cliques its junction tree does not hold are estimated from
``selection_rows`` rows drawn from the model (post-processing; the data term of the quality is
exact). One round is one "epoch" of the progress reports.
"""

from __future__ import annotations

import math
from itertools import combinations
from typing import ClassVar

import numpy as np

from sds_common.methods import AIM, AIMParams, MarginalParams, Method
from sds_trainer.domain.synthesizers.marginal.accounting import exponential_rho, gaussian_rho
from sds_trainer.domain.synthesizers.marginal.graphical_model import FloatArray
from sds_trainer.domain.synthesizers.marginal.junction_tree import Clique, model_size
from sds_trainer.domain.synthesizers.marginal.session import Session
from sds_trainer.domain.synthesizers.marginal.synthesizer import MarginalSynthesizer

_MEASURE_SHARE = 0.9
#: ``T`` per column when ``rounds`` is not given. The paper's 16 spreads ε ≤ 1 over so many
#: measurements that each is noisy; 4 measured better on held-out quality (see ``AIMParams``).
DEFAULT_ROUNDS_PER_COLUMN = 4
_BIAS = math.sqrt(2.0 / math.pi)


def workload_candidates(
    n_columns: int,
    *,
    degree: int,
    max_workload: int,
    rng: np.random.Generator,
    focus: int | None = None,
    focus_weight: float = 1.0,
) -> dict[Clique, float]:
    """AIM's candidates (the workload's downward closure) with their weights.

    A workload marginal holding column ``focus`` counts ``focus_weight`` times.
    """
    top = list(combinations(range(n_columns), min(degree, n_columns)))
    if len(top) > max_workload:
        keep = np.sort(rng.choice(len(top), size=max_workload, replace=False))
        top = [top[int(i)] for i in keep]
    holders = np.zeros(n_columns)
    closure: set[Clique] = set()
    for clique in top:
        holders[list(clique)] += focus_weight if focus in clique else 1.0
        for k in range(1, len(clique) + 1):
            closure.update(combinations(clique, k))
    return {c: float(holders[list(c)].sum()) for c in sorted(closure, key=lambda c: (len(c), c))}


def _column_index(session: Session, name: str | None) -> int | None:
    """Position of column ``name`` in the model (None: no name, or not a modelled column)."""
    names = [str(name) for name in session.header["names"]]
    return names.index(name) if name in names else None


class AIMSynthesizer(MarginalSynthesizer):
    """AIM over our graphical model. ``params`` keys: see ``sds_common.methods.AIMParams``."""

    method: ClassVar[Method] = AIM
    name: ClassVar[str] = AIM.name

    def _run(self, session: Session, params: MarginalParams, *, seed: int) -> None:
        assert isinstance(params, AIMParams)
        d = len(session.sizes)
        candidates = workload_candidates(
            d,
            degree=params.degree,
            max_workload=params.max_workload,
            rng=np.random.default_rng(seed),
            focus=_column_index(session, params.focus),
            focus_weight=params.focus_weight,
        )
        rounds = params.rounds or DEFAULT_ROUNDS_PER_COLUMN * d
        ledger = session.ledger
        if not session.extra:
            rho = ledger.remaining
            sigma = math.sqrt(rounds / (2.0 * _MEASURE_SHARE * rho))
            session.extra = {
                "rho": rho,
                "rho_start": ledger.spent,
                "sigma": sigma,
                "epsilon": math.sqrt(8.0 * (1.0 - _MEASURE_SHARE) * rho / rounds),
                "done": False,
            }
            for a in range(d):
                session.measure((a,), sigma=sigma, label=f"aim 1-way marginal of column {a}")
            fit = session.estimate(iters=params.round_iters)
            session.end_round(
                total_rounds=self._rounds_left(session), losses={"model_loss": fit.loss}
            )
        else:
            session.estimate(iters=params.round_iters)
        while not session.extra["done"]:
            self._round(session, params, candidates)
        session.estimate(iters=params.final_iters)

    @staticmethod
    def _rounds_left(session: Session) -> int:
        extra = session.extra
        cost = gaussian_rho(extra["sigma"]) + exponential_rho(extra["epsilon"])
        return session.round + 1 + math.ceil(session.ledger.remaining / cost)

    def _round(self, session: Session, params: AIMParams, candidates: dict[Clique, float]) -> None:
        extra, ledger = session.extra, session.ledger
        sigma, epsilon = extra["sigma"], extra["epsilon"]
        remaining = ledger.remaining
        if remaining < 2.0 * (gaussian_rho(sigma) + exponential_rho(epsilon)):
            sigma = math.sqrt(1.0 / (2.0 * _MEASURE_SHARE * remaining))
            epsilon = math.sqrt(8.0 * (1.0 - _MEASURE_SHARE) * remaining)
            extra["done"] = True
        used = ledger.spent - extra["rho_start"] + gaussian_rho(sigma) + exponential_rho(epsilon)
        limit = params.max_model_cells * used / extra["rho"]
        model = session.model
        cliques = list(model.factors)
        estimates = self._estimates(session, params, candidates)
        held = {c: model.home(c) is not None for c in candidates}
        # Data-independent pre-filter: a clique's own table must fit the limit.
        considered = [c for c in candidates if held[c] or session.cells(c) <= limit]
        sensitivity = max(candidates[c] for c in considered)
        scores = [
            candidates[c]
            * (
                float(np.abs(session.data_marginal(c) - estimates[c]).sum())
                - _BIAS * sigma * session.cells(c)
            )
            for c in considered
        ]
        order = session.select(
            scores,
            epsilon=epsilon,
            sensitivity=sensitivity,
            label=f"aim round {session.round + 1} selection",
        )
        chosen = next(
            (
                considered[i]
                for i in order
                if held[considered[i]]
                or model_size(session.sizes, [*cliques, considered[i]]) <= limit
            ),
            considered[order[0]],
        )
        session.measure(
            chosen, sigma=sigma, label=f"aim round {session.round + 1} marginal {list(chosen)}"
        )
        # The model before refitting, with the new clique in its tree: its exact estimate.
        before = model.marginal(chosen, model.clique_marginals(model.calibrate()))
        fit = session.estimate(iters=params.round_iters)
        after = model.marginal(chosen, session.model_tables())
        assert before is not None
        assert after is not None
        moved = float(np.abs(after - before.reshape(after.shape)).sum())
        if not extra["done"] and moved <= _BIAS * sigma * session.cells(chosen):
            sigma, epsilon = sigma / 2.0, epsilon * 2.0
        extra["sigma"], extra["epsilon"] = sigma, epsilon
        session.end_round(
            total_rounds=session.round + 1 if extra["done"] else self._rounds_left(session),
            losses={"model_loss": fit.loss, "sigma": sigma},
        )

    @staticmethod
    def _estimates(
        session: Session, params: AIMParams, candidates: dict[Clique, float]
    ) -> dict[Clique, FloatArray]:
        """The model's counts over every candidate (exact where the tree holds it)."""
        model = session.model
        tables = session.model_tables()
        out: dict[Clique, FloatArray] = {}
        missing: list[Clique] = []
        for clique in candidates:
            exact = model.marginal(clique, tables)
            if exact is None:
                missing.append(clique)
            else:
                out[clique] = exact.ravel()
        if missing:
            rows = params.selection_rows or session.rows
            assert session.beliefs is not None
            drawn = model.sample(rows, rng=session.noise, beliefs=session.beliefs)
            scale = session.rows / rows
            for clique in missing:
                session.poll()  # hundreds of counts over the drawn rows per round
                shape = tuple(session.sizes[a] for a in clique)
                index = np.ravel_multi_index(tuple(drawn[:, a] for a in clique), shape)
                counts = np.bincount(index, minlength=math.prod(shape))
                out[clique] = counts.astype(np.float64) * scale
        return out
