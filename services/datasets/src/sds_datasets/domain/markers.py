"""Which written texts mean "no value": the rule depends on what the column holds.

A marker is read as missing only where it cannot be an ordinary value of its column:

- **Typed columns** (numbers, dates, booleans): every conventional marker (:data:`TYPED_MARKERS`:
  ``NA``, ``N/A``, ``null``, ``None``, ``NaN``, ``?``, ``-``, ``#N/A``...) is missing. None of them
  is a number, a date or one side of a yes/no pair, so a column of numbers with a ``?`` here and
  there can only mean "unknown" by it, and reading them as missing loses nothing.
- **Text columns** (categories, identifiers, free text): only the empty field and the tokens that
  software writes for a null (:data:`TEXT_NULL_TOKENS`: R's ``NA``, pandas' ``NaN``/``nan``/
  ``<NA>``, SQL and JSON dumps' ``NULL``/``null``, Excel's ``#N/A``, and ``N/A``, which tools
  write for "not applicable"). Everything else is text a person wrote, and in a text column a
  person's word is a value: ``none`` ("none of these"), ``None``, ``-`` ("not applicable") or
  ``?`` ("don't know") are answers, often frequent ones; reading them as missing would delete a
  real category from the synthetic table. The null tokens, conversely, are never an answer a
  person types into a category column (``NA`` as North America is the known exception; the
  owner declares such a column's markers, below).

Which rule applies is decided on the values themselves: the typed kinds are tried on the column
without the conventional markers, and only a column that is none of them is read as text with the
narrow rule. The owner may replace either rule per column (``ColumnOverride.missing_markers``):
then exactly the declared texts and the empty field are missing. Values are compared after
surrounding blanks are stripped, and case-sensitively (``NULL`` and ``null`` are listed; ``Null``
in a text column is a word).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import pandas as pd  # type: ignore[import-untyped, unused-ignore]

TEXT_NULL_TOKENS: Final = frozenset({"", "NA", "N/A", "NaN", "nan", "NULL", "null", "#N/A", "<NA>"})
TYPED_MARKERS: Final = TEXT_NULL_TOKENS | frozenset(
    {"n/a", "na", "Null", "None", "none", "NONE", "NAN", "?", "-", "--"}
)
#: How the profile names the rule that chose a column's markers.
RULE_TYPED: Final = "typed"
RULE_TEXT: Final = "text"
RULE_DECLARED: Final = "declared"


def declared_markers(declared: Iterable[str]) -> frozenset[str]:
    """The owner's markers of a column, the empty field always among them."""
    return frozenset(marker.strip() for marker in declared) | {""}


def without_markers(text: pd.Series, markers: frozenset[str]) -> pd.Series:
    """``text`` with each marker replaced by a missing value."""
    return text.mask(text.isin(markers))


def marker_counts(text: pd.Series, markers: frozenset[str]) -> tuple[tuple[str, int], ...]:
    """The markers that occur in ``text``, most frequent first (ties alphabetically)."""
    found = text[text.isin(markers)]
    if found.empty:
        return ()
    counts = found.value_counts(sort=False)
    ordered = sorted(counts.items(), key=lambda item: (-int(item[1]), str(item[0])))
    return tuple((str(marker), int(count)) for marker, count in ordered)
