"""The schema review's proposal: what a dataset's owner could declare public metadata.

Computed here, where the raw rows are, once per dataset at profiling time, and stored beside the
profile (see :mod:`sds_common.tables.public_metadata`). Like the profile it is NOT differentially
private; unlike the profile it only proposes values that look like public knowledge rather than
facts about the rows:

* every column's kind;
* numeric bounds rounded OUTWARDS on a 1-2-5 ladder to at most :data:`MAX_STEPS` steps of the
  rounding unit (17-90 → 0-100, 1,234-987,654 → 0-1,000,000, 1-16 → 0-20): round values that
  reveal little more than the order of magnitude of the extremes, never an exact extreme unless it
  is itself round;
* datetime bounds to whole years (UTC): from 1 January of the earliest year to 1 January after
  the latest;
* the COMPLETE category list of each categorical column with at most
  :data:`~sds_common.tables.public_metadata.MAX_PROPOSED_CATEGORIES` values, each category held by
  :data:`~sds_common.tables.public_metadata.RARE_ROWS` rows or fewer flagged with its count. The
  list is complete on purpose: a value the owner adds to it then cannot come from the data, which
  is what the gateway's check of a declaration relies on;
* the target's classes (its category list), with how to opt out of them being public.

Columns that may hold personal data get their kind only (as the profile withholds their values),
and so do identifiers, free text and booleans (whose tokens are already schema).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Final

import pandas as pd  # type: ignore[import-untyped, unused-ignore]

from sds_common.tables.public_metadata import (
    MAX_PROPOSED_CATEGORIES,
    RARE_ROWS,
    TARGET_OPT_OUT_FIELD,
    Bounds,
    ColumnProposal,
    RareCategory,
    SchemaProposal,
)
from sds_datasets.domain.pipeline import ColumnFacts, PreparedDataset

#: Rounded bounds span at most this many rounding units: coarse enough to look public.
MAX_STEPS: Final = 5
_LADDER: Final = (1, 2, 5)
_CLASSED_TARGETS: Final = frozenset({"categorical", "boolean"})


def write_proposal(
    prepared: PreparedDataset, *, target_column: str | None, path: Path
) -> SchemaProposal:
    """Compute the proposal of a prepared dataset from its typed table and write it to ``path``."""
    frame = pd.read_parquet(prepared.table_path)
    proposal = propose(frame, columns=prepared.columns, target_column=target_column)
    path.write_text(proposal.model_dump_json(indent=2))
    return proposal


def propose(
    frame: pd.DataFrame, *, columns: Sequence[ColumnFacts], target_column: str | None
) -> SchemaProposal:
    """The proposal for the typed table ``frame`` whose columns ``columns`` describe."""
    proposed = tuple(
        _column(frame[facts.name], facts=facts, target=facts.name == target_column)
        for facts in columns
    )
    kinds = {facts.name: facts.kind for facts in columns}
    return SchemaProposal(
        n_rows=len(frame),
        target_column=target_column,
        target_classes=(
            _target_sentence(target_column)
            if target_column is not None and kinds.get(target_column) in _CLASSED_TARGETS
            else None
        ),
        columns=proposed,
    )


def _target_sentence(name: str) -> str:
    return (
        f"The classes of the target column {name!r} are declared public by default at upload "
        "(the labels of a prediction target are schema, not data about a person), so they cost "
        f'no ε. To keep them private (found under DP), declare with "{TARGET_OPT_OUT_FIELD}": '
        "false (sds schema DATASET --private-target-classes)."
    )


_NOTES: Final = {
    "boolean": "two values, written as its format records: nothing to declare but the kind",
    "identifier": "an identifier: regenerated, never modelled",
    "text": "free text: not modelled",
}


def _column(series: pd.Series, *, facts: ColumnFacts, target: bool) -> ColumnProposal:
    base = ColumnProposal(name=facts.name, kind=facts.kind, target=target)
    if facts.pii:
        note = f"may hold personal data ({', '.join(facts.pii)}): its values are not proposed"
        return base.model_copy(update={"note": note})
    if facts.kind == "categorical":
        return _categories(series, base)
    if facts.kind not in ("numeric", "datetime"):
        return base.model_copy(update={"note": _NOTES.get(facts.kind)})
    return base.model_copy(update={"bounds": _bounds(series, kind=facts.kind)})


def _bounds(series: pd.Series, *, kind: str) -> Bounds | None:
    if kind == "datetime":
        stamps = _utc(series).dropna()
        return None if stamps.empty else year_bounds(stamps.min(), stamps.max())
    numbers = pd.to_numeric(series, errors="coerce").dropna()
    if numbers.empty:
        return None
    integer = pd.api.types.is_integer_dtype(series.dtype)
    return round_outward(float(numbers.min()), float(numbers.max()), integer=integer)


def _categories(series: pd.Series, base: ColumnProposal) -> ColumnProposal:
    counts = series.dropna().astype(str).value_counts()
    if len(counts) > MAX_PROPOSED_CATEGORIES:
        note = (
            f"{len(counts):,} distinct values: more than {MAX_PROPOSED_CATEGORIES} are seldom a "
            "public code list, so none is proposed (they are found under DP)"
        )
        return base.model_copy(update={"note": note})
    rare = tuple(
        RareCategory(value=str(value), rows=int(rows))
        for value, rows in sorted(counts.items())
        if rows <= RARE_ROWS
    )
    return base.model_copy(
        update={"categories": tuple(sorted(str(value) for value in counts.index)), "rare": rare}
    )


def round_outward(low: float, high: float, *, integer: bool) -> tuple[float, float]:
    """``[low, high]`` widened to multiples of a 1-2-5 unit, at most :data:`MAX_STEPS` units wide.

    The unit is the smallest of 1, 2, 5 x 10^k (at least 1 for an integer column) whose
    multiples around the range span at most :data:`MAX_STEPS` units; a one-value range gets the
    unit at or above its magnitude. Decimal arithmetic keeps ``0.05`` from printing as
    ``0.05000000000000001``.
    """
    lo, hi = Decimal(repr(low)), Decimal(repr(high))
    span = hi - lo
    reference = span / MAX_STEPS if span > 0 else max(abs(lo), Decimal(1))
    exponent = math.floor(math.log10(float(reference))) - 1
    for unit in _units(exponent, integer=integer):
        rounded_low = (lo / unit).to_integral_value(ROUND_FLOOR) * unit
        rounded_high = (hi / unit).to_integral_value(ROUND_CEILING) * unit
        if span == 0:
            if unit < reference:
                continue
            if rounded_high == rounded_low:
                rounded_high += unit
        if (rounded_high - rounded_low) / unit <= MAX_STEPS:
            return float(rounded_low), float(rounded_high)
    raise AssertionError("unreachable: the ladder always reaches a unit above the range")


def _units(exponent: int, *, integer: bool) -> list[Decimal]:
    ladder = [
        Decimal(step).scaleb(power) for power in range(exponent, exponent + 4) for step in _LADDER
    ]
    return [unit for unit in ladder if not integer or unit >= 1] or [Decimal(1)]


def year_bounds(low: pd.Timestamp, high: pd.Timestamp) -> tuple[datetime, datetime]:
    """From 1 January of ``low``'s year to 1 January after ``high``'s (UTC)."""
    return datetime(low.year, 1, 1, tzinfo=UTC), datetime(
        min(high.year + 1, 9999), 1, 1, tzinfo=UTC
    )


def _utc(series: pd.Series) -> pd.Series:
    # Naive datetimes are read as UTC, as the trainer reads them (epoch seconds).
    stamps = pd.to_datetime(series, errors="coerce")
    if getattr(stamps.dt, "tz", None) is not None:
        return stamps.dt.tz_convert("UTC")
    return stamps
