"""The limits and knobs of validation, as plain values the domain code receives explicitly."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    """What an accepted table may contain, and how it is split.

    Attributes:
        max_rows: data rows (the header excluded).
        max_columns: columns, before all-empty ones are dropped.
        max_categories: distinct values a categorical column may have.
        holdout_fraction: share of rows kept out of training for evaluation.
        pii_sample_rows: values per column that the PII detectors look at.
    """

    max_rows: int = 2_000_000
    max_columns: int = 500
    max_categories: int = 10_000
    holdout_fraction: float = 0.2
    pii_sample_rows: int = 2_000
