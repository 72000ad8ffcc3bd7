"""A DP guarantee and its parameters in plain words, for reports a compliance officer reads.

Pure functions shared by the evaluator's report and the audit service's privacy report, so both
say the same thing about the same numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Final

NON_DP_MEANING: Final = (
    "This synthetic data was generated WITHOUT differential privacy. Nothing limits what it may "
    "reveal about the real people in the training data: rare records and unusual combinations can "
    "be reproduced. The empirical checks in this report can reveal some leaks, but passing them is "
    "not protection. Treat this table as sensitive as the original."
)

_ACCOUNTANTS: Final = {
    "rdp": "Rényi differential privacy (RDP) accountant: it tracks the privacy loss of every "
    "noisy step as a Rényi divergence, adds them up, and converts the total to (ε, δ). Its "
    "answer is a safe upper bound, slightly pessimistic.",
    "prv": "Privacy random variable (PRV) accountant: it composes the exact distribution of the "
    "privacy loss of every noisy step numerically and reads (ε, δ) from it. Its answer is a "
    "tight upper bound.",
}


def strength(epsilon: float) -> str:
    """How strong a guarantee ``epsilon`` is, in a few words."""
    if epsilon <= 1.0:
        return "a strong guarantee"
    if epsilon <= 10.0:
        return "a moderate guarantee, common in practice"
    return "a weak guarantee: it limits little in practice"


def dp_meaning(epsilon: float, delta: float | None) -> str:
    """One paragraph that says what (epsilon, delta) promises, for a non-specialist."""
    factor = math.exp(min(epsilon, 700.0))
    delta_part = f", except with a probability of at most δ = {delta:.2g}" if delta else ""
    return (
        f"The generator was trained with differential privacy at ε = {epsilon:.3g}. Whether any "
        "one person's record was in the training data or not, the chance of producing this "
        f"synthetic table (or any other outcome) changes by at most a factor of e^ε ≈ "
        f"{factor:.3g}{delta_part}. So no one can learn much more about an individual from this "
        "data than they could have learnt without that individual's record. This holds against "
        f"every attacker, whatever else they know. Smaller ε is stronger; ε = {epsilon:.3g} is "
        f"{strength(epsilon)}."
    )


def mechanism_of(
    *, noise_multiplier: float | None, steps: int | None, preprocessing_epsilon: float | None
) -> str | None:
    """A DP training's mechanisms in words, from what its accountant reports (None: none)."""
    parts = []
    if noise_multiplier is not None and steps:
        parts.append("DP-SGD (Gaussian noise on clipped per-record gradients)")
    if preprocessing_epsilon:
        parts.append("Gaussian-noised histograms for the data-dependent preprocessing")
    return "; ".join(parts) or None


@dataclass(frozen=True, slots=True)
class DpParameters:
    """What a DP training reports about how it spent its budget (None: not reported).

    Attributes:
        mechanism: how noise was added, in words.
        epsilon: the whole release's ε (preprocessing and training composed).
        delta: the whole release's δ.
        accountant: ``"rdp"`` or ``"prv"`` (or another name, shown as given).
        preprocessing_epsilon: what the data-dependent preprocessing would cost alone.
        training_epsilon: what training added on top of the preprocessing.
        noise_multiplier: DP-SGD's noise standard deviation relative to the clipping norm.
        sample_rate: the chance that one record is in one training batch.
        steps: noisy gradient steps.
        epochs: passes over the data.
        max_grad_norm: DP-SGD's per-record clipping norm.
        batch_size: the expected batch size.
    """

    mechanism: str | None = None
    epsilon: float | None = None
    delta: float | None = None
    accountant: str | None = None
    preprocessing_epsilon: float | None = None
    training_epsilon: float | None = None
    noise_multiplier: float | None = None
    sample_rate: float | None = None
    steps: int | None = None
    epochs: int | None = None
    max_grad_norm: float | None = None
    batch_size: int | None = None

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """Every parameter's name, in the order reports list them."""
        return tuple(f.name for f in fields(cls))


@dataclass(frozen=True, slots=True)
class ParameterLine:
    """One parameter as a report prints it: ``label``, ``value`` and what it means."""

    key: str
    label: str
    value: str
    meaning: str


def explain_parameters(parameters: DpParameters) -> list[ParameterLine]:
    """Each reported parameter with its value and its meaning in plain words (missing: left out)."""
    p = parameters
    lines: list[ParameterLine] = []

    def add(key: str, label: str, value: str, meaning: str) -> None:
        lines.append(ParameterLine(key=key, label=label, value=value, meaning=meaning))

    if p.mechanism:
        add(
            "mechanism",
            "Mechanism",
            p.mechanism,
            "How randomness was added so that no single record decides the result.",
        )
    if p.epsilon is not None:
        add(
            "epsilon",
            "ε (epsilon), whole release",
            f"{p.epsilon:.4g}",
            "The privacy-loss bound of everything released (model and synthetic data), "
            f"preprocessing included. Smaller is stronger; this is {strength(p.epsilon)}.",
        )
    if p.delta is not None:
        add(
            "delta",
            "δ (delta)",
            f"{p.delta:.3g}",
            "The probability that the ε bound does not hold. It must be far below 1 divided by "
            "the number of records, so that the bound failing for anyone is negligible.",
        )
    if p.accountant:
        add(
            "accountant",
            "Accountant",
            p.accountant,
            _ACCOUNTANTS.get(
                p.accountant, "The method that added up the privacy loss of every step."
            ),
        )
    if p.preprocessing_epsilon is not None or p.training_epsilon is not None:
        add("split", "Split of ε", split_text(p), _SPLIT_MEANING)
    if p.noise_multiplier is not None:
        add(
            "noise_multiplier",
            "Noise multiplier (\u03c3, sigma)",
            f"{p.noise_multiplier:.4g}",
            "The Gaussian noise added to every training step, as a multiple of the clipping "
            "norm. More noise means more privacy and a less exact model.",
        )
    if p.sample_rate is not None:
        add(
            "sample_rate",
            "Sampling rate (q)",
            f"{p.sample_rate:.4g}",
            "The chance that one record is used in one training step. Each record takes part "
            "in few steps, which strengthens the guarantee (privacy amplification by sampling).",
        )
    if p.steps is not None:
        epochs = f" ({p.epochs} passes over the data)" if p.epochs is not None else ""
        add(
            "steps",
            "Training steps",
            f"{p.steps:,}{epochs}",
            "How many noisy updates the model received. Each one spends a little privacy; the "
            "accountant adds them all up into ε.",
        )
    if p.max_grad_norm is not None:
        add(
            "max_grad_norm",
            "Clipping norm (C)",
            f"{p.max_grad_norm:.4g}",
            "Before noise is added, each record's influence on a training step is cut to at "
            "most this size, so no single person can move the model far.",
        )
    if p.batch_size is not None:
        add(
            "batch_size",
            "Expected batch size",
            f"{p.batch_size:,}",
            "How many records one training step uses on average.",
        )
    return lines


_SPLIT_MEANING: Final = (
    "Learning the value ranges and category lists of the columns from the data is itself a "
    "release and costs privacy, unless those facts were declared as public. The first number is "
    "what that preprocessing would cost alone, the second what training added; one accountant "
    "composed both into the total ε."
)


def split_text(parameters: DpParameters) -> str:
    """``"preprocessing ε = a, training ε = b"`` with what is known."""
    parts = []
    if parameters.preprocessing_epsilon is not None:
        if parameters.preprocessing_epsilon == 0:
            parts.append("preprocessing ε = 0 (public metadata only)")
        else:
            parts.append(f"preprocessing ε = {parameters.preprocessing_epsilon:.3g}")
    if parameters.training_epsilon is not None:
        parts.append(f"training ε = {parameters.training_epsilon:.3g}")
    return ", ".join(parts)
