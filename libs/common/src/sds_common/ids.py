"""Ids that several services derive the same way, so none has to wait for another to learn them."""

from __future__ import annotations

from typing import Final
from uuid import UUID, uuid5

#: Fixed namespace of derived ids; changing it would orphan every derived id already stored.
NAMESPACE: Final = UUID("5d1f3c2e-9a47-4c1b-8f0e-6b2d7a9c4e13")


def evaluation_id_for(synthetic_dataset_id: UUID) -> UUID:
    """Return the id of the automatic evaluation of a generated synthetic dataset.

    The evaluator evaluates every synthetic dataset as soon as it is generated, under this id;
    the gateway computes the same id when the generation is requested, so it can show the
    evaluation (queued) before the evaluator reports anything.

    Args:
        synthetic_dataset_id: the synthetic dataset's id.

    Returns:
        A name-based (version 5) UUID, the same on every call and in every service.
    """
    return uuid5(NAMESPACE, f"evaluation:{synthetic_dataset_id}")


__all__ = ["NAMESPACE", "evaluation_id_for"]
