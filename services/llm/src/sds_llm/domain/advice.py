"""Privacy-setting advice for a target use: ε, δ, method and why, from counts only.

The advised method is ``aim``, the best of ours where it was measured (``benchmarks/RESULTS.md``,
Adult at ε = 1: SDMetrics quality 0.982 and TSTR ROC-AUC 0.903 in 5 s, against dp-ctgan's 0.869);
the reasons name only settings that method has (:mod:`sds_llm.domain.methods`). When the trainer's
``auto`` method lands, it is the one to advise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from sds_llm.domain.methods import METHODS

#: Use → (ε, why). Smaller ε protects more; the numbers are common operating points.
EPSILON_BY_USE: Final = {
    "sharing": (1.0, "the table leaves your control, so the strongest common setting is advised"),
    "analytics": (3.0, "aggregate analyses tolerate DP noise well at moderate ε"),
    "ml_training": (5.0, "models need joint structure, which costs more ε to keep"),
    "testing": (8.0, "test data needs realistic shapes but is kept internal"),
}
SMALL: Final = 1_000
LARGE: Final = 100_000
WIDE: Final = 50
ADVISED_METHOD: Final = "aim"


@dataclass(frozen=True)
class Advice:
    """Suggested settings and the reasons behind each."""

    use: str
    epsilon: float
    delta: float
    method: str
    epochs: int | None
    declare_public_metadata: list[str]
    reasons: list[str]


def delta_for(n_rows: int) -> float:
    """δ well below 1/n: the power of ten at or below 1/(10·n)."""
    n = max(n_rows, 1)
    return float(10 ** math.floor(math.log10(1.0 / (10 * n))))


def advise(*, n_rows: int, n_columns: int, use: str, categorical_columns: list[str]) -> Advice:
    """Advice for a table of ``n_rows`` by ``n_columns`` and a normalised ``use``."""
    epsilon, why = EPSILON_BY_USE.get(use, EPSILON_BY_USE["analytics"])
    reasons = [f"ε = {epsilon:g} for {use.replace('_', ' ')}: {why}."]
    if n_rows < SMALL:
        epsilon = min(epsilon * 2, 10.0)
        reasons.append(
            f"With only {n_rows} rows DP noise weighs heavily, so ε is raised to {epsilon:g}; "
            "collecting more rows would help more than any setting."
        )
    elif n_rows >= LARGE and use != "sharing":
        epsilon = max(epsilon / 2, 1.0)
        reasons.append(
            f"With {n_rows} rows the noise averages out, so ε = {epsilon:g} keeps quality."
        )
    delta = delta_for(n_rows)
    reasons.append(f"δ = {delta:.0e} is well below 1/n = {1 / max(n_rows, 1):.1e}, as required.")
    method = ADVISED_METHOD
    if n_columns > WIDE:
        reasons.append(
            f"{n_columns} columns is wide: drop identifiers and free text first, since every "
            "column dilutes the budget."
        )
    if categorical_columns:
        reasons.append(
            "Declare the category sets of "
            + ", ".join(categorical_columns[:10])
            + " as public metadata so no ε is spent learning them and rare categories survive."
        )
    epochs: int | None = None
    if METHODS[method].epochs:
        epochs = 300 if n_rows < 10_000 else 100
        reasons.append(
            f"{epochs} epochs with DP-SGD ({method}); more epochs cost more ε at the same noise."
        )
    else:
        reasons.append(
            f"{method} fits a graphical model to noisy marginals: what improves it is declared "
            "public metadata and the target column; declare the target column at upload, and "
            "its workload weighs the marginals a model predicting it needs."
        )
    return Advice(
        use=use,
        epsilon=epsilon,
        delta=delta,
        method=method,
        epochs=epochs,
        declare_public_metadata=categorical_columns[:10],
        reasons=reasons,
    )
