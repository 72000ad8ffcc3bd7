"""Which declarations of public metadata the schema review accepts.

The rule: **no value from the data may reach a declaration unless the proposal showed it.** The
owner may declare any value the proposal showed, and values of their own that cannot come from
the data; everything else is refused. Per declared column:

* the column exists, and its kind is the profiled one (a kind is changed at upload, with a column
  override; declaring it says that the profiled kind is public);
* **bounds** only where the proposal showed bounds, and only ``[low, high]`` that CONTAIN the
  proposed ones (``low <= proposed low`` and ``high >= proposed high``). A bound inside the
  proposed range would come from the data (its exact minimum, read off the profile, say), which
  the proposal did not show; a bound outside it says nothing about the rows beyond what was
  shown, since every value lies within the proposed bounds;
* **categories** only where the proposal showed a category list. Any list is then accepted: the
  proposed list holds EVERY value of the column, so an extra value the owner types cannot come
  from the data, and leaving values out (a rare one, say) only keeps them private (their rows go
  to the ``(other)`` bucket). Columns without a proposed list (too many values, personal data)
  take no categories here: a value typed for them could be one of the data's unseen values;
* the target's classes are public by default; opting out (``target_classes_public: false``) while
  declaring the target's categories is a contradiction.
"""

from __future__ import annotations

from datetime import datetime

from sds_common.tables.public_metadata import (
    Bounds,
    ColumnProposal,
    Declaration,
    DeclaredColumn,
    SchemaProposal,
    bounds_text,
)


def declaration_problems(declaration: Declaration, proposal: SchemaProposal) -> list[str]:
    """Why ``declaration`` cannot be accepted against the ``proposal`` shown (empty: it can)."""
    problems: list[str] = []
    for name, declared in declaration.columns.items():
        shown = proposal.column(name)
        if shown is None:
            problems.append(f"column {name!r} is not in the dataset")
            continue
        problems += _column_problems(name, declared, shown)
    target = proposal.target_column
    if not declaration.target_classes_public and target is not None:
        declared_target = declaration.columns.get(target)
        if declared_target is not None and declared_target.categories is not None:
            problems.append(
                f"column {target!r} is the target: its classes cannot be declared public while "
                "target_classes_public is false (declare its kind only, or drop the opt-out)"
            )
    return problems


def _column_problems(name: str, declared: DeclaredColumn, shown: ColumnProposal) -> list[str]:
    problems: list[str] = []
    if declared.kind != shown.kind:
        problems.append(
            f"column {name!r} is {shown.kind}, not {declared.kind}: a kind is changed at upload "
            "(column overrides), not declared"
        )
    why_none = f" ({shown.note})" if shown.note else ""
    if declared.bounds is not None:
        if shown.bounds is None:
            problems.append(
                f"column {name!r}: the proposal shows no bounds{why_none}, so declared bounds "
                "could carry a value from the data it did not show"
            )
        elif not _contains(declared.bounds, shown.bounds):
            problems.append(
                f"column {name!r}: bounds {bounds_text(declared.bounds)} do not contain the "
                f"proposed {bounds_text(shown.bounds)}: a bound inside the proposed range would "
                "come from the data (its exact minimum or maximum, say), which the proposal did "
                "not show; declare the proposed bounds or wider ones"
            )
    if declared.categories is not None and shown.categories is None:
        problems.append(
            f"column {name!r}: the proposal lists no categories{why_none}, so declared ones "
            "could be values of the data it did not show (a public code list can still be "
            "declared for one training, in params.public_metadata)"
        )
    return problems


def _contains(outer: Bounds, inner: Bounds) -> bool:
    (low, high), (inner_low, inner_high) = outer, inner
    if isinstance(low, datetime) != isinstance(inner_low, datetime):
        return False  # a kind mismatch, reported on its own
    return bool(low <= inner_low and high >= inner_high)  # type: ignore[operator]
