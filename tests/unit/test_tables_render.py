"""Writing typed (synthetic) values back in each column's format: CSV text and Parquet types."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta, timezone

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sds_common.tables import BooleanTokens, ColumnFormat
from sds_common.tables.render import (
    render_column,
    render_csv,
    render_table,
    restore_source_types,
    source_types_differ,
)


def _texts(values: pa.Array, fmt: ColumnFormat | None) -> list[str | None]:
    return render_column(values, fmt).to_pylist()


def test_booleans_are_written_with_their_tokens() -> None:
    fmt = ColumnFormat(dtype="boolean", boolean=BooleanTokens(true="Yes", false="no"))
    assert _texts(pa.array([True, False, None]), fmt) == ["Yes", "no", None]
    native = ColumnFormat(dtype="boolean", source_type="bool", missing_token="NA")
    assert _texts(pa.array([True, False, None]), native) == ["true", "false", "NA"]
    # a synthesizer that hands back the 0/1 it was trained on is still written with tokens
    zero_one = ColumnFormat(dtype="boolean", boolean=BooleanTokens(true="1", false="0"))
    assert _texts(pa.array([1, 0, None], pa.int64()), zero_one) == ["1", "0", None]


def test_fixed_decimals_round_and_pad() -> None:
    fmt = ColumnFormat(dtype="float64", decimals=2, fixed_decimals=True)
    values = pa.array([3.14159, 2.0, -0.004, 1234567.891, -7.125, None, float("nan")])
    assert _texts(values, fmt) == ["3.14", "2.00", "0.00", "1234567.89", "-7.12", None, None]


def test_shortest_decimals_trim_trailing_zeros() -> None:
    fmt = ColumnFormat(dtype="float64", decimals=3)
    values = pa.array([3.14159, 2.0, 0.1, 10.5, 100.0, -0.25])
    assert _texts(values, fmt) == ["3.142", "2", "0.1", "10.5", "100", "-0.25"]


def test_integer_valued_floats_keep_their_decimal() -> None:
    fmt = ColumnFormat(dtype="float64", decimals=1, fixed_decimals=True, step=1.0)
    assert _texts(pa.array([3.0, 40.0]), fmt) == ["3.0", "40.0"]


def test_binary_floats_use_the_step_or_the_shortest_form() -> None:
    on_cents = ColumnFormat(dtype="float64", source_type="double", step=0.01)
    assert _texts(pa.array([0.1 + 0.2, 12.5]), on_cents) == ["0.3", "12.5"]
    free = ColumnFormat(dtype="float64", source_type="double")
    assert _texts(pa.array([0.1 + 0.2]), free) == ["0.30000000000000004"]


def test_huge_values_fall_back_to_exact_formatting() -> None:
    fmt = ColumnFormat(dtype="float64", decimals=2, fixed_decimals=True)
    assert _texts(pa.array([1e17, -2.5e16]), fmt) == [
        "100000000000000000.00",
        "-25000000000000000.00",
    ]


def test_integers() -> None:
    fmt = ColumnFormat(dtype="Int64", decimals=0, step=1.0, missing_token="-")
    assert _texts(pa.array([1, -20, None], pa.int64()), fmt) == ["1", "-20", "-"]
    # a float synthetic column for an integer format is written as whole numbers
    assert _texts(pa.array([1.6, -2.2]), fmt) == ["2", "-2"]


def test_datetimes_in_their_zone_and_pattern() -> None:
    utc = ColumnFormat(dtype="datetime64[us, UTC]", datetime_format="%Y-%m-%dT%H:%M:%SZ")
    instant = datetime(2013, 9, 13, 12, 0, 0, 441198, tzinfo=UTC)
    paris = pa.array([instant], pa.timestamp("us", tz="Europe/Paris"))
    assert _texts(paris, utc) == ["2013-09-13T12:00:00Z"]
    offset = ColumnFormat(
        dtype="datetime64[us, UTC+02:00]", datetime_format="%Y-%m-%dT%H:%M:%S%z", offset_colon=True
    )
    plus2 = pa.array([instant], pa.timestamp("us", tz="+02:00"))
    assert _texts(plus2, offset) == ["2013-09-13T14:00:00+02:00"]
    no_colon = offset.model_copy(update={"offset_colon": False})
    assert _texts(plus2, no_colon) == ["2013-09-13T14:00:00+0200"]
    fraction = ColumnFormat(dtype="datetime64[us]", datetime_format="%d/%m/%Y %H:%M:%S.%f")
    naive = pa.array([instant.replace(tzinfo=None)], pa.timestamp("ns"))
    assert _texts(naive, fraction) == ["13/09/2013 12:00:00.441198"]
    words = ColumnFormat(dtype="datetime64[us]", datetime_format="%d %b %Y", missing_token="?")
    assert _texts(pa.array([date(2024, 3, 5), None], pa.date32()), words) == ["05 Mar 2024", "?"]


@pytest.mark.parametrize(
    "pattern",
    ["%B %d, %y", "%Y%m%d%H%M%S", "%H:%M:%S.%f %d.%m.%Y", "day %j of %Y", "100%% %b"],
)
def test_any_pattern_writes_what_python_writes(pattern: str) -> None:
    moments = [
        datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(2024, 2, 29, 7, 5, 3, 120, tzinfo=UTC),
        datetime(1900, 7, 4, tzinfo=UTC),
    ]
    fmt = ColumnFormat(dtype="datetime64[us]", datetime_format=pattern)
    values = pa.array([m.replace(tzinfo=None) for m in moments], pa.timestamp("us"))
    assert _texts(values, fmt) == [m.strftime(pattern) for m in moments]


def test_datetimes_without_a_pattern_are_iso() -> None:
    values = pa.array([datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)], pa.timestamp("us"))
    assert _texts(values, None) == ["2020-01-02 03:04:05"]
    days = ColumnFormat(dtype="datetime64[us]", granularity_s=86_400)
    assert _texts(values, days) == ["2020-01-02"]


def test_text_is_verbatim_and_quoted_only_where_needed() -> None:
    batch = pa.record_batch(
        {
            "id": pa.array([1, 2, 3], pa.int64()),
            "note": pa.array(['a, "b"', "line\nbreak", None]),
            "flag": pa.array([True, None, False]),
        }
    )
    formats = {
        "note": ColumnFormat(dtype="string", missing_token="NA"),
        "flag": ColumnFormat(dtype="boolean", boolean=BooleanTokens(true="y", false="n")),
    }
    text = render_csv(batch, formats, header=True).decode()
    assert text == 'id,note,flag\n1,"a, ""b""",y\n2,"line\nbreak",\n3,NA,n\n'
    assert render_csv(batch, formats, header=False).decode().startswith("1,")
    table = render_table(batch, formats)
    assert all(pa.types.is_string(field.type) for field in table.schema)


def test_columns_without_a_format_keep_their_default_text() -> None:
    batch = pa.record_batch({"n": pa.array([1.5, None]), "b": pa.array([True, False])})
    assert list(csv.reader(io.StringIO(render_csv(batch, {}).decode()))) == [
        ["n", "b"],
        ["1.5", "true"],
        ["", "false"],
    ]


def test_parquet_restores_the_source_types() -> None:
    table = pa.table(
        {
            "flag": pa.array([True, False, None]),
            "small": pa.array([1, 2, 3], pa.int64()),
            "day": pa.array(
                [datetime(2020, 1, d, tzinfo=UTC) for d in (1, 2, 3)], pa.timestamp("us")
            ),
            "text": pa.array(["a", "b", "c"]),
        }
    )
    formats = {
        "flag": ColumnFormat(dtype="boolean", source_type="int64"),
        "small": ColumnFormat(dtype="Int64", source_type="int32"),
        "day": ColumnFormat(dtype="datetime64[us]", source_type="date32[day]"),
        "text": ColumnFormat(dtype="string"),  # a CSV column: "text" keeps the typed column
    }
    assert source_types_differ(table.schema, formats)
    restored = restore_source_types(table, formats)
    assert restored.schema.types == [pa.int64(), pa.int32(), pa.date32(), pa.string()]
    assert restored.column("flag").to_pylist() == [1, 0, None]
    assert restored.column("day").to_pylist()[0] == date(2020, 1, 1)
    same = {"small": ColumnFormat(dtype="Int64", source_type="int64")}
    assert not source_types_differ(table.schema, same)


def test_timestamps_keep_their_zone_when_restoring_the_unit() -> None:
    table = pa.table(
        {"at": pa.array([datetime(2020, 1, 1, tzinfo=UTC)], pa.timestamp("us", "UTC"))}
    )
    fmt = ColumnFormat(dtype="datetime64[us, UTC]", source_type="timestamp[ms, tz=UTC]")
    restored = restore_source_types(table, {"at": fmt})
    assert restored.schema.field("at").type == pa.timestamp("ms", tz="UTC")


@given(
    value=st.floats(min_value=-1e9, max_value=1e9, allow_nan=False),
    decimals=st.integers(min_value=0, max_value=6),
)
def test_fixed_rendering_is_the_nearest_number_with_those_decimals(
    value: float, decimals: int
) -> None:
    fmt = ColumnFormat(dtype="float64", decimals=decimals, fixed_decimals=True)
    [text] = _texts(pa.array([value]), fmt)
    assert text is not None
    # Nearest up to the float's own rounding error: ties may go either way by one last digit.
    slack = abs(value) * 2**-52
    assert abs(float(text) - value) <= 0.5 * 10.0**-decimals + slack
    if decimals:
        assert len(text.partition(".")[2]) == decimals
    else:
        assert "." not in text


def test_offsets_of_a_named_zone_follow_daylight_saving() -> None:
    fmt = ColumnFormat(
        dtype="datetime64[us, Europe/Paris]",
        datetime_format="%Y-%m-%d %H:%M%z",
        offset_colon=True,
    )
    winter = datetime(2020, 1, 1, 12, tzinfo=timezone(timedelta(hours=1)))
    summer = datetime(2020, 7, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    values = pa.array([winter, summer], pa.timestamp("us", tz="Europe/Paris"))
    assert _texts(values, fmt) == ["2020-01-01 12:00+01:00", "2020-07-01 12:00+02:00"]
