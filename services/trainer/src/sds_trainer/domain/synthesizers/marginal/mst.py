"""``mst``: the maximum-spanning-tree mechanism (McKenna, Miklau & Sheldon 2021).

The budget ``rho`` left after the preprocessing is split in three equal parts (zCDP):

1. every 1-way marginal, Gaussian with ``sigma₁ = √(d / (2·rho/3))``;
2. a spanning tree of 2-way marginals, grown Kruskal-style: ``d - 1`` times, the exponential
   mechanism at ``ε = √(8·(rho/3) / (d - 1))`` (quality sensitivity 1) picks, among the pairs
   joining two components, the one whose 2-way marginal the 1-way model (independent columns)
   misses most, ``||M_ij(D) - M̂_ij||₁``;
3. the tree's 2-way marginals, Gaussian with ``sigma₂ = √((d - 1) / (2·rho/3))``;

then Private-PGM estimates the (tree-shaped) model and rows are drawn i.i.d. from it. With one
column, the whole budget measures its 1-way marginal. Each of the three phases is one "epoch"
of the progress reports.
"""

from __future__ import annotations

import math
from itertools import combinations
from typing import ClassVar

import numpy as np

from sds_common.methods import MST, MarginalParams, Method
from sds_trainer.domain.synthesizers.marginal.accounting import gaussian_sigma
from sds_trainer.domain.synthesizers.marginal.junction_tree import Clique
from sds_trainer.domain.synthesizers.marginal.session import Session
from sds_trainer.domain.synthesizers.marginal.synthesizer import MarginalSynthesizer

_PHASES = 3


class MSTSynthesizer(MarginalSynthesizer):
    """MST over our graphical model. ``params`` keys: see ``sds_common.methods.MSTParams``."""

    method: ClassVar[Method] = MST
    name: ClassVar[str] = MST.name

    def _run(self, session: Session, params: MarginalParams, *, seed: int) -> None:
        del seed  # nothing data-independent is drawn
        d = len(session.sizes)
        if not session.extra:
            session.extra = {"rho": session.ledger.remaining, "edges": []}
        rho = session.extra["rho"]
        third = rho / _PHASES if d > 1 else rho
        if session.round < 1:
            sigma = gaussian_sigma(third / d)
            for a in range(d):
                session.measure((a,), sigma=sigma, label=f"mst 1-way marginal of column {a}")
            fit = session.estimate(iters=params.final_iters)
            session.end_round(total_rounds=_PHASES, losses={"model_loss": fit.loss})
        if session.round < 2:
            if d > 1:
                session.extra["edges"] = [list(e) for e in self._select_tree(session, third)]
            session.end_round(total_rounds=_PHASES, losses={})
        if session.round < 3:
            edges = [tuple(e) for e in session.extra["edges"]]
            if edges:
                sigma = gaussian_sigma(third / len(edges))
                for i, j in edges:
                    session.measure((i, j), sigma=sigma, label=f"mst 2-way marginal {[i, j]}")
            fit = session.estimate(iters=params.final_iters)
            session.end_round(total_rounds=_PHASES, losses={"model_loss": fit.loss})
        else:
            session.estimate(iters=params.final_iters)

    @staticmethod
    def _select_tree(session: Session, rho: float) -> list[Clique]:
        d = len(session.sizes)
        model = session.model
        tables = session.model_tables()
        ones = []
        for a in range(d):
            marginal = model.marginal((a,), tables)
            assert marginal is not None
            ones.append(marginal)
        pairs = list(combinations(range(d), 2))
        # The 1-way model has independent columns: its 2-way estimate is an outer product.
        errors = {
            (i, j): float(
                np.abs(
                    session.data_marginal((i, j))
                    - np.outer(ones[i], ones[j]).ravel() / session.rows
                ).sum()
            )
            for i, j in pairs
        }
        epsilon = math.sqrt(8.0 * rho / (d - 1))
        group = list(range(d))

        def find(x: int) -> int:
            while group[x] != x:
                group[x] = group[group[x]]
                x = group[x]
            return x

        chosen: list[Clique] = []
        for step in range(d - 1):
            open_pairs = [p for p in pairs if find(p[0]) != find(p[1])]
            order = session.select(
                [errors[p] for p in open_pairs],
                epsilon=epsilon,
                sensitivity=1.0,
                label=f"mst tree edge {step + 1} selection",
            )
            i, j = open_pairs[order[0]]
            group[find(i)] = find(j)
            chosen.append((i, j))
        return chosen
