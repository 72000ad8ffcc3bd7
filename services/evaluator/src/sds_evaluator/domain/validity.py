"""Validity: does each synthetic column hold values the real column could hold?

Checked before fidelity (DESIGN, "Faithful output"): a column can keep the rough shape of its
distribution while holding values no real row holds (an age of -3, a category nobody wrote,
2.5 children, 13:47 in a column of whole days) or come back empty, and a fidelity averaged over
fifteen columns moves by only 1/15 when one of them is empty. The checks, per column of the
synthetic table against the real training rows:

- numeric and datetime: the share of present values inside the real [min, max];
- categorical and boolean: the share of present cells that are real categories (the explicit
  ``(other)`` bucket a DP generator uses for categories too rare to release counts as known),
  and the coverage of the real categories (their share, and the share of real rows they hold);
- every kind: the missing-rate difference (synthetic share - real share); a missing cell in a
  column the real data never left empty is a failure, whatever its kind;
- representation, against the column's ``ColumnFormat`` (dtype family, decimals, step grid,
  datetime granularity, booleans still booleans), or the dtype alone when there is no format;
- identifiers (when generated): unique, and shaped like the real ones (length, character
  classes, shared prefix).

Each column's **score** is the share of its cells that pass its worst scored check (in range,
known category, not an extra missing cell, represented as the real ones, a unique well-shaped
id); an absent column scores 0. The **headline** is the *minimum* over columns: a table is only
as usable as its most broken column, and a mean would let one empty column hide behind the
others (the failure this module exists for). Category coverage is reported and flagged but not
scored, because a DP generator legitimately folds rare categories into ``(other)``; a dtype that
differs while every value is still representable is flagged but breaks no cell.

Nothing here depends on the evaluator's report models: the benchmark suite imports
:func:`column_validity` and :class:`ValidityReport` as they are.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd  # type: ignore[import-untyped, unused-ignore]

from sds_common.tables.formats import ColumnFormat
from sds_evaluator.domain.columns import MISSING, OTHER, to_labels, to_numbers
from sds_evaluator.domain.representation import (
    boolean_representation,
    datetime_representation,
    dtype_family,
    format_family,
    identifier_checks,
    numeric_representation,
)
from sds_evaluator.domain.validity_report import ColumnValidity, ValidityFlag, ValidityReport

#: A numeric column is flagged when fewer of its values than this lie inside the real range.
MIN_IN_RANGE: Final = 0.99
#: ... a categorical one when more of its present cells than this are not real categories.
MAX_UNKNOWN: Final = 0.01
#: ... when the real categories still present hold fewer of the real rows than this.
MIN_COVERAGE_ROWS: Final = 0.9
#: Standard errors of a difference of two proportions tolerated before extra missing cells are
#: flagged in a column that had missing values (two honest samples differ by about one).
MISSING_SIGMAS: Final = 3.0

CHECKS: Final = (
    "absent",
    "empty",
    "out_of_range",
    "missing_excess",
    "unknown_categories",
    "categories_lost",
    "dtype",
    "representation",
    "not_unique",
    "id_shape",
)
_RANGED: Final = frozenset({"numeric", "datetime"})
_CATEGORICAL: Final = frozenset({"categorical", "boolean"})
_OPTIONAL: Final = frozenset({"identifier", "text"})

__all__ = ["CHECKS", "ColumnValidity", "ValidityFlag", "ValidityReport", "column_validity"]


@dataclass
class _Column:
    """Builds one ``ColumnValidity``: scored shares and flags accumulate as checks run."""

    name: str
    kind: str
    scored: list[float] = field(default_factory=list)
    flags: list[ValidityFlag] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)

    def flag(self, check: str, reason: str) -> None:
        self.flags.append(ValidityFlag(column=self.name, check=check, reason=reason))


def _share(mask: np.ndarray) -> float:
    return float(mask.mean()) if mask.size else 0.0


def _missing(col: _Column, real: pd.Series, synth: pd.Series) -> tuple[float, float]:
    miss_r = _share(np.asarray(real.isna(), dtype=bool))
    miss_s = _share(np.asarray(synth.isna(), dtype=bool))
    excess = miss_s - miss_r
    col.values.update(missing_synthetic=miss_s, missing_difference=excess)
    # Of the cells that should hold a value, the share that does: an empty column scores 0
    # whatever share the real column left empty.
    col.scored.append(1.0 - max(excess, 0.0) / (1.0 - miss_r) if miss_r < 1.0 else 1.0)
    if len(synth) and miss_s == 1.0 and miss_r < 1.0:
        col.flag("empty", "came back empty: every synthetic value is missing")
    elif miss_r == 0.0 and miss_s > 0.0:
        col.flag(
            "missing_excess",
            f"{miss_s:.1%} of synthetic values are missing; the real column has none",
        )
    elif excess > 0.0:
        spread = miss_r * (1 - miss_r) * (1 / max(len(real), 1) + 1 / max(len(synth), 1))
        if excess > MISSING_SIGMAS * math.sqrt(spread):
            col.flag(
                "missing_excess",
                f"{miss_s:.1%} of synthetic values are missing against {miss_r:.1%} of real ones",
            )
    return miss_r, miss_s


def _range(col: _Column, real: pd.Series, synth: pd.Series) -> None:
    real_num, synth_num = to_numbers(real, col.kind), to_numbers(synth, col.kind)
    real_num, present = real_num[~np.isnan(real_num)], synth_num[~np.isnan(synth_num)]
    if real_num.size == 0 or present.size == 0:
        return
    # Values that are present but unreadable (text in a numeric column) are not inside any range.
    unreadable = int(synth.notna().sum()) - present.size
    inside = int(((present >= real_num.min()) & (present <= real_num.max())).sum())
    share = inside / (present.size + max(unreadable, 0))
    col.values["in_range"] = share
    col.scored.append(share)
    if share < MIN_IN_RANGE:
        col.flag("out_of_range", f"{1 - share:.1%} of values lie outside the real range")


def _categories(col: _Column, real: pd.Series, synth: pd.Series) -> None:
    real_lab, synth_lab = to_labels(real, col.kind), to_labels(synth, col.kind)
    real_counts = pd.Series(real_lab[real_lab != MISSING]).value_counts()
    present = synth_lab[synth_lab != MISSING]
    if real_counts.empty or present.size == 0:
        return
    known = set(real_counts.index) | {OTHER}
    unknown = 1.0 - float(np.isin(present, list(known)).mean())
    seen = set(present)
    kept = [c for c in real_counts.index if c in seen]
    coverage = len(kept) / len(real_counts)
    coverage_rows = float(real_counts[kept].sum() / real_counts.sum()) if kept else 0.0
    col.values.update(unknown_categories=unknown, coverage=coverage, coverage_rows=coverage_rows)
    col.scored.append(1.0 - unknown)
    if unknown > MAX_UNKNOWN:
        col.flag("unknown_categories", f"{unknown:.1%} of values are not real categories")
    if coverage_rows < MIN_COVERAGE_ROWS:
        col.flag(
            "categories_lost",
            f"only {len(kept)} of {len(real_counts)} real categories appear, and they hold "
            f"{coverage_rows:.1%} of the real rows",
        )


def _representation(
    col: _Column, real: pd.Series, synth: pd.Series, fmt: ColumnFormat | None
) -> None:
    real_family = format_family(fmt) if fmt is not None else dtype_family(real)
    synth_family = dtype_family(synth)
    col.values.update(dtype_real=real_family, dtype_synthetic=synth_family)
    if synth_family != real_family:
        col.flag("dtype", f"written as {synth_family} where the real column is {real_family}")
    if not synth.notna().any():
        return
    if col.kind == "numeric":
        share, failures = numeric_representation(synth, fmt=fmt, integer=real_family == "integer")
    elif col.kind == "datetime":
        share, failures = datetime_representation(synth, fmt=fmt)
    elif col.kind == "boolean" or real_family == "boolean":
        share, failures = boolean_representation(synth)
    else:
        return
    col.values["representation"] = share
    col.scored.append(share)
    if failures:
        col.flag("representation", "; ".join(failures))


def _identifier(col: _Column, real: pd.Series, synth: pd.Series) -> None:
    unique, shape = identifier_checks(real, synth)
    col.values.update(unique=unique, id_shape=shape)
    col.scored += [unique, shape]
    if unique < 1.0:
        col.flag("not_unique", f"{1 - unique:.1%} of identifiers repeat another one")
    if shape < 1.0:
        col.flag(
            "id_shape",
            f"{1 - shape:.1%} of identifiers differ in length, characters or prefix from the "
            "real ones",
        )


def _check(
    name: str, kind: str, real: pd.Series, synth: pd.Series | None, fmt: ColumnFormat | None
) -> ColumnValidity:
    col = _Column(name=name, kind=kind)
    miss_r = _share(np.asarray(real.isna(), dtype=bool))
    if synth is None:
        if kind in _OPTIONAL:
            return ColumnValidity(name, kind, None, miss_r, None, None)
        col.flag("absent", "is missing from the synthetic table")
        return ColumnValidity(name, kind, 0.0, miss_r, None, None, flags=tuple(col.flags))
    _missing(col, real, synth)
    if kind in _RANGED:
        _range(col, real, synth)
    elif kind in _CATEGORICAL:
        _categories(col, real, synth)
    elif kind == "identifier":
        _identifier(col, real, synth)
    _representation(col, real, synth, fmt)
    return ColumnValidity(
        name=name,
        kind=kind,
        score=min(col.scored),
        missing_real=miss_r,
        flags=tuple(col.flags),
        **col.values,
    )


def column_validity(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    kinds: Mapping[str, str],
    formats: Mapping[str, ColumnFormat | None] | None = None,
) -> ValidityReport:
    """Check every column of a synthetic table against the real training rows.

    Args:
        real: the rows the generator was trained on (the real [min, max], categories, missing
            shares and identifier shapes come from them).
        synthetic: the generated rows (all of them: one broken row is one broken row).
        kinds: column name -> kind, as the datasets service profiled them; columns not in
            ``real`` are ignored.
        formats: column name -> how the real values were written (``DatasetProfiled`` v2); a
            column without one (older datasets) gets the dtype checks only.

    Returns:
        The report: per-column numbers and flags, and the headline (the worst column's score;
        see the module docstring for why the minimum).
    """
    formats = formats or {}
    columns = tuple(
        _check(
            name,
            kind,
            real[name],
            synthetic[name] if name in synthetic.columns else None,
            formats.get(name),
        )
        for name, kind in kinds.items()
        if name in real.columns
    )
    scores = [c.score for c in columns if c.score is not None]
    return ValidityReport(
        score=min(scores) if scores else None,
        columns=columns,
        flags=tuple(flag for c in columns for flag in c.flags),
    )
