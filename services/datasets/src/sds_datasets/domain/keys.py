"""Row keys: which columns are identifiers (regenerated, never modelled), and why.

A key is recognised by how its values behave, whatever the column is called; the name is only
supporting evidence where the values alone are ambiguous. Each rule returns the reason that the
profile records as the column's ``kind_reason``.

**Text columns**, in order:

1. **UUIDs** (95 % of a sample) are keys.
2. **Few distinct values** (at most max(20, 5 % of the rows)) are a category: with 20 rows a
   column cannot show that it is a key, and a value that repeats 20 times is not one.
3. **Nearly unique** values (≥ 95 % distinct), short (median ≤ 64 characters) and not prose
   (under 4 words): names, e-mails, order numbers.
4. Long values or prose are **free text**.
5. **A key that repeats a little**: at least :data:`MIN_REPEATED_KEYS` distinct values, at least
   half of the rows distinct (each value in two rows or fewer on average), and 95 % of a sample
   written in one shape that has digits in it (``CASE-00123`` is ``AAAA-99999``: letters by case,
   digits as 9, the rest kept). Case ids, ticket numbers and foreign keys look like this; a real
   category is either not that varied (values repeat many times) or not that regular (words of
   varying lengths). Modelled as a category, such a column keeps none of its values under DP.
6. Otherwise a **category** within the configured limit, or the table is refused.

**Integer columns** are keys only with evidence beyond their values being distinct, since counts
and amounts are often all distinct too: all distinct and named like a key (``id``, ``user_id``,
``customerId``), all distinct and forming a sequence (a contiguous range of at least
:data:`MIN_SEQUENCE` integers, in any order), or at least :data:`MIN_REPEATED_KEYS` values, half
of the rows distinct, and named like a key (a foreign key). **Float columns** are never keys:
all-distinct floats are measurements.
"""

from __future__ import annotations

import re
from typing import Final, Literal

import numpy as np
import pandas as pd  # type: ignore[import-untyped, unused-ignore]

from sds_datasets.domain.errors import TOO_MANY_CATEGORIES, DatasetError
from sds_datasets.domain.limits import Limits

TextKind = Literal["categorical", "identifier", "text"]

UNIQUE_SHARE: Final = 0.95
SMALL_CARDINALITY: Final = 20
SMALL_CARDINALITY_SHARE: Final = 0.05
REPEATED_KEY_SHARE: Final = 0.5
MIN_REPEATED_KEYS: Final = 100
MIN_SEQUENCE: Final = 20
SHAPE_SHARE: Final = 0.95
_UUID: Final = r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
_ID_NAME: Final = re.compile(r"(^|[^a-z])(id|uuid|guid|key)$|^id([^a-z]|$)|[a-z]Id$", re.I)


def text_kind(
    present: pd.Series, sample: pd.Series, *, name: str, limits: Limits
) -> tuple[TextKind, str]:
    """The kind of a text column and the reason (rules 1-6 of the module docstring).

    Args:
        present: the column's non-missing values.
        sample: a deterministic sample of ``present`` (the costly checks look at it only).
        name: the column's name (for the refusal's message).
        limits: the category limit.

    Raises:
        DatasetError: ``too_many_categories``.
    """
    rows = len(present)
    distinct = int(present.nunique())
    counted = f"{distinct:,} distinct values in {rows:,} rows"
    if sample.str.match(_UUID).mean() >= UNIQUE_SHARE:
        return "identifier", "the values are UUIDs: a row key"
    if distinct <= max(SMALL_CARDINALITY, SMALL_CARDINALITY_SHARE * rows):
        return "categorical", f"{counted}: a category"
    lengths = sample.str.len()
    words = float((sample.str.count(r"\s+") + 1).mean())
    if distinct >= UNIQUE_SHARE * rows and lengths.median() <= 64 and words < 4:
        return "identifier", f"{counted} ({distinct / rows:.1%} distinct), short: a row key"
    if lengths.mean() >= 30 or words >= 4:
        return "text", f"{counted}, long or several words each: free text"
    shape, share = _main_shape(sample)
    if (
        distinct >= MIN_REPEATED_KEYS
        and distinct >= REPEATED_KEY_SHARE * rows
        and share >= SHAPE_SHARE
        and "9" in shape
    ):
        return "identifier", (
            f"{counted}, {share:.0%} of them shaped like {shape!r}: a key whose values repeat "
            "a little, not a category"
        )
    if distinct <= limits.max_categories:
        return "categorical", f"{counted}: a category"
    raise DatasetError(
        TOO_MANY_CATEGORIES,
        f"column {name!r} has {distinct:,} distinct values: too many for a categorical column "
        f"(the limit is {limits.max_categories:,}), too repetitive for an identifier (only "
        f"{distinct / rows:.0%} distinct) and too short for free text; drop it, or "
        "group rare values together",
        column=name,
    )


def integer_key_reason(present: pd.Series, *, name: str) -> str | None:
    """Why an integer column is a key, or None when it is not one (see the module docstring)."""
    rows = len(present)
    distinct = int(present.nunique())
    named = is_id_name(name)
    if rows and distinct == rows:
        if named:
            return f"{rows:,} distinct integers, named like a key: a row key"
        low, high = int(present.min()), int(present.max())
        if rows >= MIN_SEQUENCE and high - low + 1 == rows:
            return f"the integers {low:,} to {high:,}, each once: a sequence of row keys"
        return None
    if named and distinct >= MIN_REPEATED_KEYS and distinct >= REPEATED_KEY_SHARE * rows:
        return (
            f"{distinct:,} distinct integers in {rows:,} rows, named like a key: a key whose "
            "values repeat a little"
        )
    return None


def shape_of(values: pd.Series) -> pd.Series:
    """Each value's shape: upper-case letters as ``A``, lower-case as ``a``, digits as ``9``."""
    return (
        values.str.replace(r"[A-Z]", "A", regex=True)
        .str.replace(r"[a-z]", "a", regex=True)
        .str.replace(r"[0-9]", "9", regex=True)
    )


def _main_shape(sample: pd.Series) -> tuple[str, float]:
    if sample.empty:
        return "", 0.0
    counts = shape_of(sample).value_counts()
    return str(counts.index[0]), float(counts.iloc[0]) / len(sample)


def is_id_name(name: str) -> bool:
    """The column's name says it holds keys (``id``, ``user_id``, ``key``, ``uuid``...)."""
    return bool(_ID_NAME.search(name))


def all_distinct_floats(present: pd.Series) -> bool:
    """Every value differs from every other: what a measurement's values usually do."""
    return len(present) >= SMALL_CARDINALITY and bool(np.unique(present).size == len(present))
