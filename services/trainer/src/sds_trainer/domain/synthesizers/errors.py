"""Domain errors of the synthesizers: what a handler turns into a ``TrainingFailed`` reason."""

from __future__ import annotations


class SynthesizerError(Exception):
    """Base class of every error a synthesizer raises on purpose."""


class InvalidTrainingConfig(SynthesizerError):  # noqa: N818 - the domain's name for it
    """The request cannot be trained as asked; every reason is listed, not only the first."""

    def __init__(self, reasons: list[str]) -> None:
        self.reasons = list(reasons)
        super().__init__("invalid training config: " + "; ".join(self.reasons))


class TrainingCancelled(SynthesizerError):  # noqa: N818 - a cancellation is not an "error"
    """``should_stop`` asked training to stop; nothing is released and no ε is charged beyond it."""

    def __init__(self, *, epoch: int, epsilon_spent: float) -> None:
        self.epoch = epoch
        self.epsilon_spent = epsilon_spent
        super().__init__(
            f"training cancelled after epoch {epoch} (ε spent so far {epsilon_spent:.4g})"
        )


class SamplingError(SynthesizerError):
    """A sample request that the fitted model cannot honour (unfitted model, bad condition...)."""
