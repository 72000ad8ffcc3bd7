"""The limits and knobs of validation, as plain values the domain code receives explicitly.

Each limit is a setting of the datasets service (``SDS_DATASETS_<NAME>``, see ``config.py``), the
same in the embedded and the distributed runtime; a refusal names the limit and its setting so an
operator knows what to raise.
"""

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
        max_json_depth: nesting levels of a JSON Lines record (a flat record is 1): deeper
            input is refused before the parser recurses into it.
        max_cell_bytes: UTF-8 bytes of one value (a header name included).
        max_row_bytes: UTF-8 bytes of one row (a CSV line, a JSON record, a Parquet row's
            decoded values).
        max_table_bytes: bytes of the whole table once decoded: a Parquet file's declared
            uncompressed size, and the values it decodes to, may not exceed it.
    """

    max_rows: int = 2_000_000
    max_columns: int = 500
    max_categories: int = 10_000
    holdout_fraction: float = 0.2
    pii_sample_rows: int = 2_000
    max_json_depth: int = 32
    max_cell_bytes: int = 64 * 1024
    max_row_bytes: int = 1024 * 1024
    max_table_bytes: int = 1024**3


def setting(limit: str) -> str:
    """The environment variable that sets ``limit`` (a :class:`Limits` field)."""
    return f"SDS_DATASETS_{limit.upper()}"


def limit_text(limits: Limits, limit: str, *, unit: str = "bytes") -> str:
    """``limit``'s value and the setting that sets it, for a refusal's message."""
    return f"{getattr(limits, limit):,} {unit} (the limit {setting(limit)})"
