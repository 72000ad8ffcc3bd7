"""Parse, type, then render back: every cell comes back exactly as the file wrote it.

The typed train table is rendered with the formats the datasets service detected
(:func:`sds_common.tables.render.render_csv`) and compared with the uploaded text cell by cell;
rows are matched by their id, since the split keeps only some of them.
"""

from __future__ import annotations

import csv
import io
import random
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sds_common.tables import ColumnFormat
from sds_common.tables.render import render_csv
from sds_datasets.domain.pipeline import PreparedDataset
from tests.unit.datasets.conftest import Prepare, fmt

N = 300


def _shortest(value: float) -> str:
    return np.format_float_positional(value, trim="-")


def _mixed_csv() -> str:
    rng = random.Random(7)
    start = datetime(2013, 9, 13, 12, tzinfo=UTC)
    header = [
        "row",
        "flag",
        "answer",
        "active",
        "count",
        "price",
        "ratio",
        "whole",
        "fives",
        "day",
        "hour",
        "local",
        "dmy",
        "choice",
        "score",
        "city",
    ]
    rows = [header]
    for i in range(N):
        local = datetime(2020, 3, 1, 8, tzinfo=UTC) + timedelta(minutes=15 * rng.randint(0, 5000))
        rows.append(
            [
                str(i + 1),
                rng.choice(["0", "1"]),
                rng.choice(["Yes", "No"]),
                rng.choice(["true", "false"]),
                str(rng.randint(-50, 500)),
                f"{rng.uniform(0, 100):.2f}",
                _shortest(rng.randint(1, 4000) / 8),
                f"{rng.randint(0, 40)}.0",
                str(5 * rng.randint(0, 60)),
                (datetime(2001, 1, 1, tzinfo=UTC) + timedelta(days=rng.randint(0, 9000))).strftime(
                    "%Y-%m-%d"
                ),
                (start + timedelta(hours=rng.randint(0, 20_000))).strftime("%Y-%m-%dT%H:%M:%SZ"),
                local.strftime("%Y-%m-%dT%H:%M:%S+02:00"),
                (datetime(1990, 1, 1, tzinfo=UTC) + timedelta(days=rng.randint(0, 9000))).strftime(
                    "%d/%m/%Y"
                ),
                rng.choice(["none"] * 9 + ["?", "-", "None", "red", "blue", ""]),
                rng.choice(["NA"] + [str(rng.randint(1, 9)) for _ in range(6)]),
                rng.choice(["Lyon", "Paris", "Nice", "Lille"]),
            ]
        )
    sink = io.StringIO()
    csv.writer(sink, lineterminator="\n").writerows(rows)
    return sink.getvalue()


def _parse(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def _render(prepared: PreparedDataset, *, path: str = "train") -> list[list[str]]:
    formats: dict[str, ColumnFormat] = {
        c.name: c.format for c in prepared.columns if c.format is not None
    }
    table = pq.read_table(prepared.train_path if path == "train" else prepared.table_path)
    chunks = [
        render_csv(batch, formats, header=first).decode()
        for first, batch in zip(
            [True] + [False] * 1000, table.to_batches(max_chunksize=64), strict=False
        )
    ]
    return _parse("".join(chunks))


def _assert_round_trip(source: str, prepared: PreparedDataset, *, key: str = "row") -> None:
    original = _parse(source)
    rendered = _render(prepared)
    assert rendered[0] == original[0]
    position = original[0].index(key)
    by_key = {row[position]: row for row in original[1:]}
    assert len(rendered) - 1 == prepared.n_rows - prepared.holdout_rows
    for row in rendered[1:]:
        expected = by_key[row[position]]
        differing = {
            name: (got, want)
            for name, got, want in zip(original[0], row, expected, strict=True)
            if got != want
        }
        assert not differing, differing


def test_every_format_comes_back_as_written(prepare: Prepare) -> None:
    source = _mixed_csv()
    prepared = prepare(source)
    _assert_round_trip(source, prepared)


def test_detected_formats(prepare: Prepare) -> None:
    prepared = prepare(_mixed_csv())
    kinds = {c.name: c.kind for c in prepared.columns}
    assert kinds["row"] == "identifier"
    assert kinds["choice"] == "categorical"
    flag = fmt(prepared, "flag")
    assert (flag.dtype, flag.boolean) == ("boolean", _tokens("1", "0"))
    assert fmt(prepared, "answer").boolean == _tokens("Yes", "No")
    assert fmt(prepared, "active").boolean == _tokens("true", "false")
    count = fmt(prepared, "count")
    assert (count.dtype, count.decimals, count.step) == ("Int64", 0, 1.0)
    price = fmt(prepared, "price")
    assert (price.dtype, price.decimals, price.fixed_decimals) == ("float64", 2, True)
    assert price.step == 0.01
    ratio = fmt(prepared, "ratio")
    assert (ratio.decimals, ratio.fixed_decimals, ratio.step) == (3, False, 0.125)
    whole = fmt(prepared, "whole")
    assert (whole.dtype, whole.decimals, whole.fixed_decimals) == ("float64", 1, True)
    assert whole.step == 1.0
    assert fmt(prepared, "fives").step == 5.0
    day = fmt(prepared, "day")
    assert (day.datetime_format, day.granularity_s, day.dtype) == (
        "%Y-%m-%d",
        86400,
        "datetime64[us]",
    )
    hour = fmt(prepared, "hour")
    assert hour.datetime_format == "%Y-%m-%dT%H:%M:%SZ"
    assert (hour.granularity_s, hour.dtype) == (3600, "datetime64[us, UTC]")
    local = fmt(prepared, "local")
    assert (local.datetime_format, local.offset_colon) == ("%Y-%m-%dT%H:%M:%S%z", True)
    assert local.granularity_s == 900
    assert local.dtype == "datetime64[us, UTC+02:00]"
    assert fmt(prepared, "dmy").datetime_format == "%d/%m/%Y"
    choice = fmt(prepared, "choice")
    assert (choice.dtype, choice.missing_markers, choice.missing_token) == ("string", ("",), "")
    score = fmt(prepared, "score")
    assert (score.missing_markers, score.missing_token) == (("NA",), "NA")


def _tokens(true: str, false: str) -> object:
    from sds_common.tables import BooleanTokens  # noqa: PLC0415

    return BooleanTokens(true=true, false=false)


# --- property-based: one generated column beside a row id -------------------------------------

_BOOL_PAIRS = [("0", "1"), ("yes", "no"), ("Yes", "No"), ("TRUE", "FALSE"), ("t", "f"), ("Y", "N")]
_DATE_PATTERNS = ["%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%Y-%m-%d %H:%M:%S", "%d %b %Y"]


@st.composite
def _column(draw: st.DrawFn) -> list[str]:
    size = draw(st.integers(min_value=25, max_value=60))
    kind = draw(st.sampled_from(["int", "fixed", "shortest", "bool", "date", "iso", "text"]))
    if kind == "int":
        step = draw(st.sampled_from([1, 5, 100]))
        low = draw(st.integers(-1000, 1000))
        values = [str(step * draw(st.integers(low, low + 300))) for _ in range(size)]
    elif kind == "fixed":
        decimals = draw(st.integers(1, 4))
        values = [
            f"{draw(st.integers(-(10**6), 10**6)) / 10**decimals:.{decimals}f}" for _ in range(size)
        ]
    elif kind == "shortest":
        values = [_shortest(draw(st.integers(-(10**5), 10**5)) / 64) for _ in range(size)]
        values[0] = "0.015625"  # at least one value with a fraction: a float column
    elif kind == "bool":
        true, false = draw(st.sampled_from(_BOOL_PAIRS))
        values = [draw(st.sampled_from([true, false])) for _ in range(size)]
        values[:2] = [true, false]
    elif kind == "date":
        pattern = draw(st.sampled_from(_DATE_PATTERNS))
        base = datetime(1950, 1, 1, tzinfo=UTC)
        values = [
            (base + timedelta(seconds=draw(st.integers(0, 2_000_000_000)))).strftime(pattern)
            for _ in range(size)
        ]
    elif kind == "iso":
        offset = draw(st.sampled_from(["Z", "+02:00", "-0530", ""]))
        unit = draw(st.sampled_from([1, 60, 3600]))
        base = datetime(2000, 1, 1, tzinfo=UTC)
        values = [
            (base + timedelta(seconds=unit * draw(st.integers(0, 10**6)))).strftime(
                "%Y-%m-%dT%H:%M:%S"
            )
            + offset
            for _ in range(size)
        ]
    else:
        alphabet = st.sampled_from(["none", "None", "?", "-", "a b", "x", "Ünïcode", "1x", ""])
        values = [draw(alphabet) for _ in range(size)]
    missing = draw(st.sampled_from(["", "NA", None]))
    if missing is not None and kind != "text":
        values[-1] = missing
    return values


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(values=_column())
def test_any_single_format_round_trips(prepare: Prepare, values: list[str]) -> None:
    sink = io.StringIO()
    writer = csv.writer(sink, lineterminator="\n")
    writer.writerow(["row", "value"])
    writer.writerows([str(i + 1), value] for i, value in enumerate(values))
    source = sink.getvalue()
    prepared = prepare(source)
    if "value" not in {c.name for c in prepared.columns}:
        assert all(v in ("", "NA") for v in values)  # dropped: nothing but missing cells
        return
    _assert_round_trip(source, prepared)
