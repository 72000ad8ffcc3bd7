"""The public metadata one training takes as given: the owner's declaration and the request's.

A dataset's owner declares public metadata in the schema review (``PublicMetadataDeclared``); a
training request may declare more in ``params.public_metadata``. Both cost no ε. Per column the
request wins (its whole entry replaces the review's), so a user can still widen or replace what
the review declared for one training. The result is what
:func:`~sds_trainer.domain.synthesizers.column_specs` reads as ``declared``; datetime bounds go to
it in epoch seconds (UTC), as every synthesizer reads datetimes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sds_common.tables.public_metadata import DeclaredColumn

Source = Literal["review", "request"]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class InForce:
    """The schema review's declaration a training uses (all None/empty: no review).

    Attributes:
        version: The declaration's number (``PublicMetadataDeclared.declaration_version``).
        columns: The declared columns.
        target_classes_public: Whether the target's class labels are public: the declaration's
            flag, True without a review (the target's labels are schema by default).
        declared_by: Who declared it.
        declared_at: When.
    """

    version: int | None = None
    columns: Mapping[str, DeclaredColumn] = field(default_factory=dict)
    target_classes_public: bool = True
    declared_by: str | None = None
    declared_at: datetime | None = None

    def public_metadata(self, requested: object) -> dict[str, Any]:
        """``column_specs``' ``declared``: the review's columns, the request's winning per column.

        Args:
            requested: The request's ``params.public_metadata`` (anything but a mapping declares
                nothing, as ``column_specs`` reads it).
        """
        merged: dict[str, Any] = {}
        for name, column in self.columns.items():
            entry = as_spec_entry(column)
            if entry:
                merged[name] = entry
        if isinstance(requested, Mapping):
            merged.update({str(name): entry for name, entry in requested.items()})
        return merged

    def sources(self, requested: object) -> dict[str, Source]:
        """Which declaration each declared column comes from (the request wins)."""
        sources: dict[str, Source] = dict.fromkeys(self.columns, "review")
        if isinstance(requested, Mapping):
            sources.update(dict.fromkeys(map(str, requested), "request"))
        return dict(sorted(sources.items()))

    def report(self, requested: object) -> dict[str, Any]:
        """What the generator's privacy report says about the public metadata it used."""
        return {
            "declaration_version": self.version,
            "declared_by": self.declared_by,
            "declared_at": self.declared_at.isoformat() if self.declared_at else None,
            "target_classes_public": self.target_classes_public,
            "columns": self.sources(requested),
        }


def as_spec_entry(column: DeclaredColumn) -> dict[str, Any]:
    """One declared column as ``params.public_metadata`` writes it (empty: its kind only)."""
    if column.bounds is not None:
        low, high = column.bounds
        if isinstance(low, datetime) and isinstance(high, datetime):
            return {"bounds": [_seconds(low), _seconds(high)]}
        return {"bounds": [float(low), float(high)]}  # type: ignore[arg-type]
    if column.categories is not None:
        return {"categories": list(column.categories)}
    return {}


def _seconds(moment: datetime) -> float:
    return (moment.astimezone(UTC) - _EPOCH).total_seconds()
