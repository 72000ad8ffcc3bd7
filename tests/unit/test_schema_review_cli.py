"""``sds schema``: the terminal shows the whole proposal, and sends what was accepted of it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from rich.console import Console

from sds_common.tables.public_metadata import (
    ColumnProposal,
    DeclaredColumn,
    RareCategory,
    SchemaProposal,
)
from sds_studio.schema_review import declaration_body, schema_view

PROPOSAL = SchemaProposal(
    n_rows=500,
    target_column="label",
    target_classes="The classes of the target column 'label' are declared public by default.",
    columns=(
        ColumnProposal(name="age", kind="numeric", bounds=(0, 100)),
        ColumnProposal(
            name="city",
            kind="categorical",
            categories=tuple(f"city-{i:02d}" for i in range(40)),
            rare=(RareCategory(value="city-07", rows=3), RareCategory(value="city-31", rows=9)),
        ),
        ColumnProposal(
            name="visit",
            kind="datetime",
            bounds=(datetime(2019, 1, 1, tzinfo=UTC), datetime(2022, 1, 1, tzinfo=UTC)),
        ),
        ColumnProposal(name="email", kind="identifier", note="may hold personal data (email)"),
        ColumnProposal(name="label", kind="categorical", target=True, categories=("no", "yes")),
    ),
)


def _schema(declaration: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "dataset_id": "d1",
        "n_rows": 500,
        "target_column": "label",
        "columns": [
            {
                "name": "age",
                "kind": "numeric",
                "format": {"dtype": "Int64", "decimals": 0},
                "missing_fraction": 0.0,
                "distinct": 70,
                "pii": [],
            },
            {
                "name": "email",
                "kind": "identifier",
                "format": None,
                "missing_fraction": 0.1,
                "distinct": 500,
                "pii": ["email"],
            },
        ],
        "proposal": PROPOSAL.model_dump(mode="json"),
        "declaration": declaration,
    }


def test_the_table_shows_every_value_of_the_proposal() -> None:
    console = Console(record=True, width=2000)  # no wrapping: each value on one line
    console.print(schema_view(_schema()))
    shown = console.export_text()
    for column in PROPOSAL.columns:
        assert column.name in shown
        for category in column.categories or ():
            assert category in shown, category
        for rare in column.rare:
            assert f"{rare.value}: {rare.rows} rows" in shown
    for text in ("0 to 100", "2019-01-01 to 2022-01-01", "may hold personal data", "Int64"):
        assert text in shown, text
    assert "declared public by default" in shown
    assert "Nothing declared" in shown


def test_accepting_all_some_and_keeping_the_targets_classes_private() -> None:
    everything = declaration_body(_schema(), accept=None, target_public=None)
    assert everything == PROPOSAL.accepted().model_dump(mode="json")

    some = declaration_body(_schema(), accept=["age"], target_public=None)
    assert some == {
        "columns": {"age": {"kind": "numeric", "bounds": [0.0, 100.0], "categories": None}},
        "target_classes_public": True,
    }
    # A later acceptance keeps what was declared before.
    declared = {
        "version": 1,
        "declared_by": "alice",
        "declared_at": "2026-12-01T10:00:00Z",
        "columns": some["columns"],
        "target_classes_public": True,
    }
    more = declaration_body(_schema(declared), accept=["label"], target_public=False)
    assert set(more["columns"]) == {"age", "label"}
    assert DeclaredColumn.model_validate(more["columns"]["label"]).categories is None
    assert more["target_classes_public"] is False
    # The opt-out alone keeps the columns as they were.
    only = declaration_body(_schema(declared), accept=[], target_public=False)
    assert only["columns"] == some["columns"]

    with pytest.raises(ValueError, match="no column 'ghost'"):
        declaration_body(_schema(), accept=["ghost"], target_public=None)
