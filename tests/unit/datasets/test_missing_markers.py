"""Which texts mean "missing": by column kind, listed in the profile, overridable per column."""

from __future__ import annotations

import pandas as pd  # type: ignore[import-untyped, unused-ignore]

from sds_common.tables import ColumnOverride
from tests.unit.datasets.conftest import Prepare, Reject, column, fmt


def _table(values: list[str]) -> str:
    return "n,x\n" + "".join(f"{i},{v}\n" for i, v in enumerate(values))


def test_none_in_a_text_column_is_a_category(prepare: Prepare) -> None:
    values = ["none"] * 45 + ["gas"] * 30 + ["oil"] * 25
    prepared = prepare(_table(values))
    x = column(prepared, "x")
    assert x["kind"] == "categorical"
    assert x["missing"] == 0
    assert {t["value"]: t["count"] for t in x["top"]}["none"] == 45
    assert pd.read_parquet(prepared.table_path)["x"].eq("none").sum() == 45


def test_text_columns_read_only_machine_nulls_as_missing(prepare: Prepare) -> None:
    kept = ["None", "none", "-", "?", "n/a"]
    nulls = ["", "NA", "N/A", "NaN", "nan", "NULL", "null", "#N/A", "<NA>"]
    values = (kept + nulls) * 3 + ["red", "blue"] * 10
    prepared = prepare(_table(values))
    x = column(prepared, "x")
    assert x["kind"] == "categorical"
    assert x["missing"] == 3 * len(nulls)
    assert {t["value"] for t in x["top"]} >= set(kept)
    assert sorted(m["marker"] for m in x["missing_markers"]) == sorted(nulls)
    assert all(m["count"] == 3 for m in x["missing_markers"])
    assert set(fmt(prepared, "x").missing_markers) == set(nulls)


def test_typed_columns_read_every_conventional_marker_as_missing(prepare: Prepare) -> None:
    markers = ["", "NA", "N/A", "n/a", "null", "NULL", "None", "none", "NaN", "?", "-", "#N/A"]
    rows = "".join(f"{m},{m or 'NA'},{m},{i}\n" for i, m in enumerate(markers)) + "".join(
        f"{i % 6},2024-01-{i + 1:02d},{'yes' if i % 2 else 'no'},{i}\n" for i in range(20)
    )
    prepared = prepare("x,when,flag,n\n" + rows)
    assert column(prepared, "x")["kind"] == "numeric"
    assert column(prepared, "x")["missing"] == len(markers)
    assert column(prepared, "when")["kind"] == "datetime"
    assert column(prepared, "when")["missing"] == len(markers)
    assert column(prepared, "flag")["kind"] == "boolean"
    assert column(prepared, "flag")["missing"] == len(markers)
    listed = {m["marker"]: m["count"] for m in column(prepared, "x")["missing_markers"]}
    assert listed == dict.fromkeys(markers, 1)


def test_missing_token_is_the_most_frequent_marker(prepare: Prepare) -> None:
    values = [str(i) for i in range(40)] + ["NA"] * 5 + [""] * 2
    prepared = prepare(_table(values))
    x = fmt(prepared, "x")
    assert x.missing_markers == ("NA", "")
    assert x.missing_token == "NA"


def test_a_column_without_missing_cells_lists_no_marker(prepare: Prepare) -> None:
    prepared = prepare(_table([str(i) for i in range(30)]))
    assert column(prepared, "x")["missing_markers"] == []
    assert fmt(prepared, "x").missing_markers == ()


def test_declared_markers_replace_the_rule(prepare: Prepare) -> None:
    values = ["none"] * 10 + ["NA"] * 5 + ["gas", "oil"] * 10
    prepared = prepare(_table(values), overrides={"x": ColumnOverride(missing_markers=("none",))})
    x = column(prepared, "x")
    assert x["missing"] == 10
    assert {t["value"] for t in x["top"]} == {"NA", "gas", "oil"}
    assert x["missing_rule"] == "declared"
    assert fmt(prepared, "x").missing_markers == ("none",)


def test_declaring_no_marker_keeps_only_the_empty_field_missing(prepare: Prepare) -> None:
    values = ["NA"] * 6 + [""] * 2 + ["AF", "EU", "AS"] * 10
    prepared = prepare(_table(values), overrides={"x": ColumnOverride(missing_markers=())})
    x = column(prepared, "x")
    assert x["missing"] == 2
    assert "NA" in {t["value"] for t in x["top"]}  # North America, not "not available"


def test_overrides_for_unknown_columns_are_rejected(reject: Reject) -> None:
    error = reject(
        _table(["a", "b"] * 5),
        overrides={
            "x": ColumnOverride(kind="categorical"),
            "nope": ColumnOverride(kind="identifier"),
            "gone": ColumnOverride(missing_markers=("-",)),
        },
    )
    assert error.code == "unknown_column"
    assert "'gone', 'nope'" in error.message
    assert "'n', 'x'" in error.message
