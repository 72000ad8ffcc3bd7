"""Hyper-parameters of ``aim`` and ``mst``, parsed from the request's ``params`` mapping."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, Self

from sds_trainer.domain.synthesizers.errors import InvalidTrainingConfig


@dataclass(frozen=True)
class MarginalParams:
    """Settings shared by the marginal synthesizers.

    Attributes:
        numeric_bins: Target number of bins of a numeric/datetime column in the model (an atom
            heavier than ``1/numeric_bins`` of the rows gets a bin of its own on top).
        final_iters: Most mirror-descent iterations of the final estimation.
        checkpoint_every: Rounds between checkpoints.
        device: Accepted for a uniform request shape; the marginal methods run on the CPU
            (numpy), whatever it says.
    """

    numeric_bins: int = 16
    final_iters: int = 300
    checkpoint_every: int = 1
    device: str = "auto"

    @classmethod
    def parse(cls, params: Mapping[str, Any]) -> Self:
        """Build from a mapping, listing every problem at once.

        Raises:
            InvalidTrainingConfig: unknown keys or unusable values.
        """
        known = {f.name for f in fields(cls)}
        reasons = [f"unknown parameter {k!r}" for k in params if k not in known]
        try:
            out = cls(**{k: v for k, v in params.items() if k in known})
        except TypeError as exc:
            raise InvalidTrainingConfig([*reasons, str(exc)]) from exc
        reasons += out.problems()
        if reasons:
            raise InvalidTrainingConfig(reasons)
        return out

    def problems(self) -> list[str]:
        """Reasons these settings are unusable (empty when fine)."""
        out: list[str] = []
        for name in ("numeric_bins", "final_iters", "checkpoint_every"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                out.append(f"{name} must be an integer ≥ 1")
        if self.device not in ("auto", "cpu", "cuda"):
            out.append("device must be 'auto', 'cpu' or 'cuda'")
        return out

    def to_state(self) -> dict[str, Any]:
        """Plain-python form for checkpoints and saved models."""
        return asdict(self)


@dataclass(frozen=True)
class AIMParams(MarginalParams):
    """Settings of ``aim`` (McKenna et al. 2022).

    Attributes:
        degree: The workload is every marginal of up to this many columns; the candidates are
            its downward closure, weighted by their overlap with the workload.
        max_workload: Most workload marginals of the top degree (a seeded, data-independent
            subset beyond it, for wide tables).
        max_model_cells: AIM's model-size limit, in cells of the junction tree's tables; a round
            may only pick a marginal that keeps the model under ``max_model_cells`` times the
            share of the budget spent so far.
        rounds: AIM's ``T``, the round count that sets the initial per-round budget (default
            ``4·columns``; the paper's ``16·columns`` left each measurement noisier and scored
            lower on `make bench-peers` at ε=1); annealing adjusts it as the run goes.
        round_iters: Most mirror-descent iterations after each round (warm-started).
        selection_rows: Rows drawn from the current model to estimate the marginals that no
            clique of its tree holds (default: the table's row count).
        focus: A column whose workload marginals weigh ``focus_weight`` times the others; the
            trainer sets it to the dataset's declared target column unless the request does.
            A name that is not a modelled column focuses on nothing.
        focus_weight: That weight (≥ 1; 1 treats every column alike).
    """

    degree: int = 3
    max_workload: int = 1000
    max_model_cells: int = 500_000
    rounds: int | None = None
    round_iters: int = 50
    selection_rows: int | None = None
    focus: str | None = None
    focus_weight: float = 4.0

    def problems(self) -> list[str]:
        """Reasons these settings are unusable (empty when fine)."""
        out = super().problems()
        for name in ("degree", "max_workload", "max_model_cells", "round_iters"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                out.append(f"{name} must be an integer ≥ 1")
        for name in ("rounds", "selection_rows"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                out.append(f"{name} must be an integer ≥ 1 (or omitted)")
        focus: object = self.focus  # parsed from JSON: any type may arrive
        if focus is not None and not isinstance(focus, str):
            out.append("focus must be a column name (or omitted)")
        weight: object = self.focus_weight
        if (
            isinstance(weight, bool)
            or not isinstance(weight, int | float)
            or not math.isfinite(weight)
            or weight < 1
        ):
            out.append("focus_weight must be a finite number ≥ 1")
        return out


@dataclass(frozen=True)
class MSTParams(MarginalParams):
    """Settings of ``mst`` (McKenna, Miklau & Sheldon 2021): the shared ones only."""
