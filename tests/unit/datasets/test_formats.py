"""Format detection: tokens, decimals, grids, date patterns, zones and granularity, per source."""

from __future__ import annotations

import io
import random
from datetime import UTC, date, datetime, timedelta

import pandas as pd  # type: ignore[import-untyped, unused-ignore]
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sds_common.tables import BooleanTokens
from tests.unit.datasets.conftest import Prepare, fmt


def _table(values: list[str]) -> str:
    return "n,x\n" + "".join(f"{i},{v}\n" for i, v in enumerate(values))


def test_boolean_tokens_are_the_most_frequent_spelling_of_each_side(prepare: Prepare) -> None:
    values = ["Yes"] * 5 + ["yes"] * 2 + ["no"] * 3 + ["NO"]
    assert fmt(prepare(_table(values)), "x").boolean == BooleanTokens(true="Yes", false="no")


@pytest.mark.parametrize(
    ("seen", "other"), [("yes", "no"), ("Yes", "No"), ("TRUE", "FALSE"), ("N", "Y"), ("0", "1")]
)
def test_a_one_sided_boolean_column_spells_the_other_side_alike(
    prepare: Prepare, seen: str, other: str
) -> None:
    tokens = fmt(prepare(_table([seen] * 5)), "x").boolean
    assert tokens is not None
    assert {tokens.true, tokens.false} == {seen, other}


def test_measurements_have_no_step(prepare: Prepare) -> None:
    rng = random.Random(3)
    x = fmt(prepare(_table([repr(rng.gauss(0, 1)) for _ in range(200)])), "x")
    assert (x.dtype, x.step, x.fixed_decimals) == ("float64", None, False)


@pytest.mark.parametrize(
    ("values", "step"),
    [
        ([10, 20, 30] * 10, 1.0),  # three round values are not evidence of a grid of 10
        (list(range(0, 600, 10)), 10.0),
        ([2 * i for i in range(8)], 1.0),  # a few even numbers can be even by chance
        ([2 * i for i in range(40)], 2.0),
        ([2013] * 20, 1.0),  # a constant is no grid
        ([100 * i - 500 for i in range(12)], 100.0),
    ],
)
def test_integer_grids_need_evidence(prepare: Prepare, values: list[int], step: float) -> None:
    x = fmt(prepare(_table([str(v) for v in values])), "x")
    assert x.step == step


def test_a_quarter_grid_written_with_two_decimals(prepare: Prepare) -> None:
    values = [f"{0.25 * i:.2f}" for i in range(40)]
    x = fmt(prepare(_table(values)), "x")
    assert (x.decimals, x.fixed_decimals, x.step) == (2, True, 0.25)


def test_scientific_notation_has_no_known_decimals(prepare: Prepare) -> None:
    x = fmt(prepare(_table(["1e-5", "2.5e-3", "3.0", "4"] * 5)), "x")
    assert (x.dtype, x.decimals, x.step) == ("float64", None, None)


@pytest.mark.parametrize(
    ("written", "pattern", "colon", "dtype"),
    [
        ("2024-03-01T10:15:00+0200", "%Y-%m-%dT%H:%M:%S%z", False, "datetime64[us, UTC+02:00]"),
        ("2024-03-01 10:15", "%Y-%m-%d %H:%M", False, "datetime64[us]"),
        ("2024-03-01T10:15:07.250000", "%Y-%m-%dT%H:%M:%S.%f", False, "datetime64[us]"),
    ],
)
def test_iso_patterns_follow_the_writing(
    prepare: Prepare, written: str, pattern: str, colon: bool, dtype: str
) -> None:
    x = fmt(prepare(_table([written] * 10)), "x")
    assert (x.datetime_format, x.offset_colon, x.dtype) == (pattern, colon, dtype)


@pytest.mark.parametrize(
    ("step_s", "granularity"),
    [(60, 60), (300, 300), (3600, 3600), (86_400, 86_400), (7, 1)],
)
def test_granularity(prepare: Prepare, step_s: int, granularity: float) -> None:
    rng = random.Random(step_s)
    base = datetime(2020, 1, 1, tzinfo=UTC)
    values = [
        (base + timedelta(seconds=step_s * rng.randint(0, 10**5))).strftime("%Y-%m-%d %H:%M:%S")
        for _ in range(60)
    ]
    assert fmt(prepare(_table(values)), "x").granularity_s == granularity


def test_a_native_parquet_table_records_its_types(prepare: Prepare) -> None:
    rng = random.Random(12)
    n = 40
    table = pa.table(
        {
            "flag01": pa.array([i % 2 for i in range(n)], pa.int64()),
            "flag": pa.array([i % 3 == 0 for i in range(n)]),
            "whole": pa.array([float(rng.randint(0, 50)) for _ in range(n)], pa.float64()),
            "small": pa.array([rng.randint(0, 50) for _ in range(n)], pa.int32()),
            "money": pa.array([rng.randint(0, 10**5) / 100 for _ in range(n)], pa.float64()),
            "noise": pa.array([rng.random() for _ in range(n)], pa.float64()),
            "day": pa.array([date(2020, 1, 1) + timedelta(days=i) for i in range(n)]),
            "at": pa.array(
                [datetime(2020, 1, 1, tzinfo=UTC) + timedelta(hours=i) for i in range(n)],
                pa.timestamp("us", tz="UTC"),
            ),
        }
    )
    sink = io.BytesIO()
    pq.write_table(table, sink)
    prepared = prepare(sink.getvalue(), fmt="parquet")
    flag01 = fmt(prepared, "flag01")
    assert (flag01.dtype, flag01.source_type) == ("boolean", "int64")
    assert flag01.boolean == BooleanTokens(true="1", false="0")
    flag = fmt(prepared, "flag")
    assert (flag.source_type, flag.boolean) == ("bool", None)
    whole = fmt(prepared, "whole")
    assert (whole.dtype, whole.source_type, whole.step) == ("float64", "double", 1.0)
    assert whole.decimals is None
    assert (fmt(prepared, "small").dtype, fmt(prepared, "small").source_type) == ("Int64", "int32")
    assert fmt(prepared, "money").step == 0.01
    assert fmt(prepared, "noise").step is None
    day = fmt(prepared, "day")
    assert (day.source_type, day.datetime_format, day.granularity_s) == (
        "date32[day]",
        "%Y-%m-%d",
        86_400,
    )
    at = fmt(prepared, "at")
    assert at.source_type == "timestamp[us, tz=UTC]"
    assert at.granularity_s == 3600
    assert at.datetime_format == "%Y-%m-%d %H:%M:%S%z"
    assert pd.read_parquet(prepared.table_path)["whole"].dtype == "float64"
