"""``sds schema``: the schema review in a terminal, and the declaration it sends.

The table shows EVERY value the proposal holds (bounds, each category, each rare-category warning):
what is declared must have been shown, so nothing is shortened.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from sds_common.tables.public_metadata import (
    ColumnProposal,
    Declaration,
    DeclaredColumn,
    SchemaProposal,
    bounds_text,
)


def declaration_body(
    schema: Mapping[str, Any], *, accept: Sequence[str] | None, target_public: bool | None
) -> dict[str, Any]:
    """The ``PUT /datasets/{id}/public-metadata`` body after accepting ``accept``.

    Args:
        schema: The ``GET /datasets/{id}/schema`` answer.
        accept: The columns whose proposal is accepted (empty: none; None: every column).
            Columns declared before stay declared.
        target_public: Whether the target's classes are public (None: as declared before, by
            default public). When not, the target column is declared by its kind only.

    Raises:
        ValueError: a column to accept is not in the dataset.
    """
    proposal = SchemaProposal.model_validate(schema["proposal"])
    unknown = [name for name in accept or () if proposal.column(name) is None]
    if unknown:
        names = ", ".join(c.name for c in proposal.columns)
        raise ValueError(f"no column {', '.join(map(repr, unknown))} (the columns: {names})")
    current = schema.get("declaration") or {}
    public = current.get("target_classes_public", True) if target_public is None else target_public
    columns = {
        name: DeclaredColumn.model_validate(column)
        for name, column in (current.get("columns") or {}).items()
    }
    columns.update(proposal.accepted(accept, target_classes_public=public).columns)
    target = proposal.target_column
    if not public and target in columns:
        kept = columns[target]
        columns[target] = DeclaredColumn(kind=kept.kind, bounds=kept.bounds)
    return Declaration(columns=columns, target_classes_public=public).model_dump(mode="json")


def schema_view(schema: Mapping[str, Any]) -> Group:
    """The inferred schema, the whole proposal and the declaration in force, for the terminal."""
    proposal = SchemaProposal.model_validate(schema["proposal"])
    declaration = schema.get("declaration") or None
    declared = (declaration or {}).get("columns") or {}
    table = Table(title=f"Schema of dataset {schema['dataset_id']}", show_lines=True)
    for header in ("Column", "Kind", "Format", "Missing", "Personal data", "Proposed", "Warnings"):
        table.add_column(header, overflow="fold")
    table.add_column("Declared", overflow="fold")
    profiled = {column["name"]: column for column in schema.get("columns") or ()}
    for column in proposal.columns:
        facts = profiled.get(column.name, {})
        table.add_row(
            column.name + (" (target)" if column.target else ""),
            column.kind,
            format_text(facts.get("format")),
            f"{float(facts.get('missing_fraction', 0.0)):.1%}",
            ", ".join(facts.get("pii") or ()) or "-",
            proposed_text(column),
            "\n".join(f"{r.value}: {r.rows} rows" for r in column.rare) or "-",
            _declared_text(declared.get(column.name)),
        )
    lines: list[Any] = [table, Text(proposal.notice, style="dim")]
    if any(column.rare for column in proposal.columns):
        lines.append(Text(f"Warnings: {proposal.rare_reason}", style="yellow"))
    if proposal.target_classes:
        lines.append(Text(proposal.target_classes))
    if declaration:
        lines.append(
            Text(
                f"In force: declaration {declaration['version']} by {declaration['declared_by']} "
                f"at {declaration['declared_at']}; the target's classes are "
                + ("public." if declaration["target_classes_public"] else "kept private."),
                style="green",
            )
        )
    else:
        lines.append(Text("Nothing declared: every statistic is found under DP and charged."))
    return Group(*lines)


def proposed_text(column: ColumnProposal) -> str:
    """What the proposal offers for one column, in full."""
    parts = []
    if column.bounds is not None:
        parts.append(f"bounds {bounds_text(column.bounds)}")
    if column.categories is not None:
        parts.append(f"{len(column.categories)} categories: {', '.join(column.categories)}")
    if column.note:
        parts.append(column.note)
    return "\n".join(parts) or "the kind"


def format_text(fmt: Mapping[str, Any] | None) -> str:
    """A column's format in a few words (``-`` for datasets profiled without one)."""
    if not fmt:
        return "-"
    parts = [str(fmt.get("dtype"))]
    tokens = fmt.get("boolean")
    if tokens:
        parts.append(f"{tokens['true']}/{tokens['false']}")
    if fmt.get("decimals") is not None:
        parts.append(f"{fmt['decimals']} decimals")
    if fmt.get("datetime_format"):
        parts.append(str(fmt["datetime_format"]))
    return ", ".join(parts)


def _declared_text(column: Mapping[str, Any] | None) -> str:
    if column is None:
        return "-"
    return "yes: " + DeclaredColumn.model_validate(column).describe()
