"""The quality suite's pure parts: tables and targets, the split, declarations, verdicts."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from benchmarks import suite
from benchmarks._peers import venvs
from benchmarks._peers.codes import MISSING_TEXT, decode_table, encode_table
from benchmarks._peers.protocol import Result
from benchmarks._suite import report
from benchmarks._suite.declared import reviewed_schema
from benchmarks._suite.measure import Measured
from benchmarks._suite.tables import BY_KEY, QUICK, TABLES, load, prepare_table
from sds_evaluator.domain.validity import ValidityReport
from sds_evaluator.domain.validity_report import ColumnValidity, ValidityFlag

ISSUE_TABLES = {
    "ggplot2/diamonds",
    "AER/CPS1988",
    "modeldata/hotel_rates",
    "AER/STAR",
    "ISLR/Default",
    "modeldata/wa_churn",
    "Ecdat/Car",
    "modeldata/credit_data",
    "modeldata/ames",
    "modeldata/check_times",
    "openintro/email",
    "COMPAS",
}


def test_exactly_the_issues_tables_each_with_a_declared_target_and_why() -> None:
    assert {t.key for t in TABLES} == ISSUE_TABLES
    assert set(QUICK) <= ISSUE_TABLES
    assert len({t.dataset_id for t in TABLES}) == len(TABLES)
    for table in TABLES:
        assert table.why
        assert table.task in ("classification", "regression")


@pytest.mark.parametrize("key", sorted(ISSUE_TABLES))
def test_every_table_loads_offline_with_its_target_and_without_r_row_names(key: str) -> None:
    frame = load(BY_KEY[key])
    assert len(frame) > 1_000
    assert BY_KEY[key].target in frame.columns
    assert "rownames" not in frame.columns


def test_our_parser_types_a_table_and_splits_it_80_20_the_same_way_every_run(
    tmp_path: Path,
) -> None:
    table = BY_KEY["ISLR/Default"]
    first = prepare_table(table, tmp_path / "a")
    second = prepare_table(table, tmp_path / "b")
    assert (first.train_rows, first.holdout_rows) == (8_000, 2_000)
    a, b = pd.read_parquet(first.train_path), pd.read_parquet(second.train_path)
    pd.testing.assert_frame_equal(a, b)
    kinds = {c["name"]: c["kind"] for c in first.columns}
    assert table.target in kinds
    assert "rownames" not in kinds
    # Stratified on the (categorical) target: its rare class keeps its share in both parts.
    holdout = pd.read_parquet(first.holdout_path)
    share = a[table.target].astype(str).value_counts(normalize=True)
    held = holdout[table.target].astype(str).value_counts(normalize=True)
    assert abs(share.min() - held.min()) < 0.005


@pytest.mark.parametrize("key", ["ggplot2/diamonds", "AER/CPS1988", "COMPAS", "Ecdat/Car"])
def test_documented_declarations_hold_every_value_of_the_table(key: str, tmp_path: Path) -> None:
    table = BY_KEY[key]
    prepared = prepare_table(table, tmp_path)
    declared = reviewed_schema(table, prepared).metadata
    assert declared
    frame = pd.read_parquet(prepared.train_path)
    for name, meta in declared.items():
        values = frame[name].dropna()
        if "bounds" in meta:
            low, high = meta["bounds"]
            assert values.between(low, high).all(), name
        else:
            assert set(values.astype(str)) <= set(meta["categories"]), name


def test_a_declaration_that_does_not_fit_the_typed_kind_is_dropped(tmp_path: Path) -> None:
    table = BY_KEY["AER/CPS1988"]
    prepared = prepare_table(table, tmp_path)
    prepared.columns[:] = [
        {**c, "kind": "text"} if c["name"] == "region" else c for c in prepared.columns
    ]
    assert "region" not in reviewed_schema(table, prepared).metadata


def test_the_default_method_is_auto_once_registered_else_aim(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(suite, "SYNTHESIZERS", {"aim": object()})
    chosen = suite.methods()
    assert chosen["default"].name == chosen["reviewed"].name == "aim"
    assert not chosen["default"].declared
    assert chosen["reviewed"].declared
    assert all(chosen[k].declared for k in suite.SUITE_PEERS)
    monkeypatch.setattr(suite, "SYNTHESIZERS", {"aim": object(), "auto": object()})
    assert suite.methods()["default"].name == "auto"


def test_quick_selection_is_three_small_tables_at_epsilon_one_ours_only() -> None:
    tables, methods, epsilons = suite._selection(suite.parse_args(["--quick"]))
    assert [t.key for t in tables] == list(QUICK)
    assert [m.key for m in methods] == ["default", "reviewed"]
    assert epsilons == [1.0]
    with pytest.raises(SystemExit, match="unknown table"):
        suite._selection(suite.parse_args(["--tables", "datasets/iris"]))


def _valid(score: float, *flagged: str) -> ValidityReport:
    columns = tuple(
        ColumnValidity(name, "numeric", 0.5, 0.0, 0.0, 0.0, flags=(ValidityFlag(name, "x", "y"),))
        for name in flagged
    )
    return ValidityReport(
        score=score, columns=columns, flags=tuple(f for c in columns for f in c.flags)
    )


def _row(table: str, label: str, eps: float | None, *, q: float, tstr: float, fit_s: float = 1.0):
    return Measured(
        table,
        label,
        eps,
        result=Result(fit_s=fit_s, sample_s=0.0, rows=8_000),
        quality={"quality": q},
        validity=_valid(1.0),
        utility={"utility_tstr_auc": tstr, "utility_trtr_auc": 0.9},
    )


def test_verdicts_say_met_or_by_how_much_each_target_missed() -> None:
    rows = [
        _row("A", report.BASELINE, None, q=0.80, tstr=0.6),
        Measured("A", report.CEILING, None, quality={"quality": 0.95}),
        _row("A", report.DEFAULT, 1.0, q=0.83, tstr=0.7, fit_s=5.0),
        _row("A", report.REVIEWED, 1.0, q=0.93, tstr=0.88),
        _row("A", "smartnoise MST", 1.0, q=0.90, tstr=0.85, fit_s=100.0),
        _row("B", report.BASELINE, None, q=0.85, tstr=0.7),
        _row("B", report.DEFAULT, 1.0, q=0.86, tstr=0.72, fit_s=50.0),
        _row("B", report.REVIEWED, 1.0, q=0.86, tstr=0.72),
        _row("B", "smartnoise MST", 1.0, q=0.90, tstr=0.70, fit_s=100.0),
    ]
    rows[6] = replace(rows[6], validity=_valid(0.2, "price"))
    lines = report.verdicts(rows)
    assert "**missed** on 1 of 2: B (validity 0.200; flagged price)" in lines[0]
    assert "B (SDMetrics +0.010 vs baseline" in lines[1]
    assert "B (ours 0.860/0.720 vs smartnoise MST 0.900/0.700)" in lines[2]
    assert "**met** (measured on 1 of 2 tables)" in lines[3]  # only A has a ceiling
    assert "B (0.50x the fastest peer)" in lines[4]
    # Median TSTR/TRTR of the reviewed schema: (0.88/0.9 + 0.72/0.9) / 2 = 0.889.
    assert lines[5].endswith("0.889 over 2 table(s) — **missed**")


def test_table_codes_round_trip_datetimes_and_missing_categories_and_charge_bounds() -> None:
    frame = pd.DataFrame(
        {
            "when": pd.to_datetime(["2012-01-01 06:00:00", "2012-03-01 12:30:00", None]),
            "n": [0.0, 3.0, 250.0],
            "kind": ["a", None, "b"],
        }
    )
    columns: list[dict[str, Any]] = [
        {"name": "when", "kind": "datetime"},
        {"name": "n", "kind": "numeric", "integer": True},
        {"name": "kind", "kind": "categorical"},
        {"name": "id", "kind": "identifier"},
    ]
    rng = np.random.default_rng(0)
    declared = {"n": {"bounds": [0, 300]}, "when": {"bounds": [1.3e9, 1.4e9]}}
    encoded = encode_table(frame, columns, declared=declared, epsilon=1.0, share=0.1, rng=rng)
    assert encoded.bounds_epsilon == 0.0  # everything that needs bounds is declared
    assert list(encoded.frame.columns) == ["when", "n", "kind"]
    assert encoded.frame["kind"].tolist() == ["a", MISSING_TEXT, "b"]
    back = decode_table(encoded.frame, encoded, rng)
    assert back["kind"].isna().tolist() == [False, True, False]
    assert back["kind"].dropna().tolist() == ["a", "b"]
    assert back["n"].iloc[0] == 0.0
    assert back["when"].isna().tolist() == [False, False, True]
    assert (
        back["when"].dropna().between(pd.Timestamp("2011-03-13"), pd.Timestamp("2014-05-13")).all()
    )
    charged = encode_table(frame, columns, declared={}, epsilon=1.0, share=0.1, rng=rng)
    assert charged.bounds_epsilon == pytest.approx(0.1)


def test_peer_venvs_are_built_with_the_makefiles_uv_even_without_uv_on_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    monkeypatch.setenv("UV", "/opt/somewhere/uv")
    assert venvs.uv() == "/opt/somewhere/uv"
    monkeypatch.delenv("UV")
    if shutil.which("uv") is None:  # a fresh login's PATH: scripts/uv.sh finds or makes one
        found = Path(venvs.uv())
        assert found.name == "uv"
        assert os.access(found, os.X_OK)
