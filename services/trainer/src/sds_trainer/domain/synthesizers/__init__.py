"""Synthesizers of the trainer: the protocol, the registry, dp-ctgan and the ctgan peer."""

from sds_trainer.domain.synthesizers.base import (
    OTHER_LABEL,
    ColumnSpec,
    EpochReport,
    FitReport,
    PreprocessingStep,
    PrivacyBudget,
    Synthesizer,
    column_specs,
)
from sds_trainer.domain.synthesizers.errors import (
    InvalidTrainingConfig,
    SamplingError,
    SynthesizerError,
    TrainingCancelled,
)
from sds_trainer.domain.synthesizers.registry import SYNTHESIZERS, get_synthesizer, with_target

__all__ = [
    "OTHER_LABEL",
    "SYNTHESIZERS",
    "ColumnSpec",
    "EpochReport",
    "FitReport",
    "InvalidTrainingConfig",
    "PreprocessingStep",
    "PrivacyBudget",
    "SamplingError",
    "Synthesizer",
    "SynthesizerError",
    "TrainingCancelled",
    "column_specs",
    "get_synthesizer",
    "with_target",
]
