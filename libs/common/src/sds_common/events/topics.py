"""Logical topic names. Physical names add ``Settings.topic_prefix``."""

from typing import Final

DATASETS: Final = "datasets"
TRAINING: Final = "training"
PRIVACY: Final = "privacy"
EVALUATION: Final = "evaluation"
LLM: Final = "llm"
ACCESS: Final = "access"

ALL: Final = (DATASETS, TRAINING, PRIVACY, EVALUATION, LLM, ACCESS)
DLQ_SUFFIX: Final = ".dlq"


def dlq(topic: str) -> str:
    """Return the dead-letter topic of ``topic``."""
    return f"{topic}{DLQ_SUFFIX}"
