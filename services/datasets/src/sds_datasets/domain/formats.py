"""Each column's format: how its values were written (:class:`sds_common.tables.ColumnFormat`).

:func:`sds_common.tables.render.render_csv` is the exact inverse: a typed column rendered with the
format detected here gives back the text the file held, cell by cell, for every file written in
one consistent way per column (the round-trip tests check it). What cannot come back is a column
written inconsistently (``3.10`` beside ``2.5``, ``Yes`` beside ``yes``, mixed zone offsets): the
most frequent writing wins.

**Grids are claimed conservatively**, since the trainer snaps synthetic values onto them and a
wrong grid would move every value. A number column's grid starts from what the text states:
integers lie on 1 and numbers written with ``d`` decimals on ``10**-d`` (that is the precision the
file was written with, not a finding). A coarser grid (multiples of 5, of 0.25) is the greatest
common divisor of the values on that base, and is kept only when chance cannot explain it: with
``k`` distinct values, values on the base grid share a divisor of ``g`` or more with probability
about ``g**-k + g**(1-k) / (k-1)``; the grid needs that under :data:`GRID_CHANCE` and at least
three distinct values (so ``10, 20, 30`` stays on 1 and a constant is no grid). Floats without a
decimal text (Parquet doubles) get a grid only when every value sits within rounding error of a
grid of at most :data:`MAX_GRID_DECIMALS` decimals; measurements (noise in every digit) sit on
none and get no step, as do numbers written with more decimals than that or in scientific notation.

Datetimes get the same treatment on a ladder of natural units (day, hour, half and quarter hour,
five minutes, minute, second, millisecond, microsecond) starting from the pattern's resolution:
the coarsest unit every value sits on, kept when ``(base / unit) ** k`` is under the threshold.
Granularity is measured on the wall clock of the column's zone (a date written with ``+02:00`` is
midnight there, not in UTC).
"""

from __future__ import annotations

import math
import re
from typing import Final

import numpy as np
import pandas as pd  # type: ignore[import-untyped, unused-ignore]
import pyarrow as pa
import pyarrow.compute as pc

from sds_common.tables import BooleanTokens, ColumnFormat

GRID_CHANCE: Final = 1e-3
MAX_GRID_DECIMALS: Final = 6
_EXACT: Final = 2**53
_ISO: Final = re.compile(
    r"^\d{4}-\d{2}-\d{2}"
    r"(?:(?P<sep>[T ])\d{2}:\d{2}(?P<sec>:\d{2}(?P<frac>[.,]\d+)?)?)?"
    r"(?P<zone>Z|[+-]\d{2}(?::?\d{2})?)?$"
)
_PLAIN_NUMBER: Final = r"^[+-]?\d*(?:\.\d*)?$"
#: Wall-clock units, coarsest first, in microseconds; each divides the one before it.
_UNITS_US: Final = (86_400_000_000, 3_600_000_000, 1_800_000_000, 900_000_000, 300_000_000)
_FINE_UNITS_US: Final = (60_000_000, 1_000_000, 1_000, 1)
_BOOLEAN_PAIRS: Final = (("true", "false"), ("yes", "no"), ("t", "f"), ("y", "n"), ("1", "0"))


def detect_format(
    values: pd.Series,
    *,
    kind: str,
    written: pd.Series | None,
    source_type: str,
    markers: tuple[str, ...],
    parse_format: str | None = None,
) -> ColumnFormat:
    """The format of one typed column.

    Args:
        values: the typed column (its dtype is the format's dtype).
        kind: the column's kind.
        written: the texts the file held, blanks stripped, aligned with ``values``; None for
            columns of a typed source (Parquet numbers, booleans, timestamps).
        source_type: ``"text"`` or the source column's Arrow type.
        markers: the texts read as missing, most frequent first.
        parse_format: the pattern the datetime column was parsed with (``"ISO8601"`` or strftime).
    """
    found: dict[str, object] = {
        "dtype": str(values.dtype),
        "source_type": source_type,
        "missing_markers": markers,
        "missing_token": markers[0] if markers else "",
    }
    present = values.notna()
    texts = None if written is None else written[present]
    if kind == "boolean":
        found["boolean"] = _boolean_tokens(values[present], texts, source_type=source_type)
    elif pd.api.types.is_numeric_dtype(values.dtype):
        found.update(_number_format(values[present], texts))
    elif pd.api.types.is_datetime64_any_dtype(values.dtype):
        found.update(_datetime_format(values[present], texts, parse_format=parse_format))
    return ColumnFormat.model_validate(found)


def _boolean_tokens(
    values: pd.Series, texts: pd.Series | None, *, source_type: str
) -> BooleanTokens | None:
    if texts is None:  # a typed source: native booleans have no tokens, 0/1 numbers have 1/0
        return None if source_type in ("bool", "text") else BooleanTokens(true="1", false="0")
    flags = values.astype(bool).to_numpy()
    true = _most_frequent(texts[flags])
    false = _most_frequent(texts[~flags])
    if true is None and false is None:
        return None
    if true is None:
        true = _other_side(str(false))
    if false is None:
        false = _other_side(true)
    return BooleanTokens(true=true, false=false)


def _most_frequent(texts: pd.Series) -> str | None:
    if texts.empty:
        return None
    counts = texts.value_counts()
    best = counts[counts == counts.iloc[0]].index
    return str(min(best))


def _other_side(seen: str) -> str:
    lowered = seen.lower()
    for true, false in _BOOLEAN_PAIRS:
        if lowered in (true, false):
            other = false if lowered == true else true
            break
    else:
        other = "0" if seen.startswith("1") else "1"
    if seen.isupper():
        return other.upper()
    return other.capitalize() if seen[:1].isupper() else other


def _number_format(values: pd.Series, texts: pd.Series | None) -> dict[str, object]:
    integer = pd.api.types.is_integer_dtype(values.dtype)
    numbers = values.astype("float64").to_numpy()
    if texts is not None and not integer:
        decimals, fixed = _written_decimals(texts)
        if decimals is None or decimals > MAX_GRID_DECIMALS:
            return {"decimals": decimals, "fixed_decimals": fixed}
        step = _grid(numbers, decimals)
        return {"decimals": decimals, "fixed_decimals": fixed, "step": step}
    if integer:
        return {"decimals": 0, "step": _grid(numbers, 0)}
    decimals = _binary_decimals(numbers)
    return {} if decimals is None else {"step": _grid(numbers, decimals)}


def _written_decimals(texts: pd.Series) -> tuple[int | None, bool]:
    """The most digits after the point, and whether every value has that many (Arrow kernels:
    this runs on every number column of every upload)."""
    if texts.empty:
        return None, False
    array = pa.array(texts.to_numpy(dtype=object), pa.string())
    if not pc.all(pc.match_substring_regex(array, _PLAIN_NUMBER)).as_py():
        return None, False  # exponents, infinities: no decimal text to keep
    point = pc.find_substring(array, ".")
    after = pc.subtract(pc.subtract(pc.utf8_length(array), point), 1)
    digits = pc.if_else(pc.less(point, 0), 0, after)
    decimals = int(pc.max(digits).as_py())
    fixed = decimals > 0 and int(pc.min(digits).as_py()) == decimals
    return decimals, fixed


def _binary_decimals(numbers: np.ndarray) -> int | None:
    if numbers.size == 0:
        return None
    for decimals in range(MAX_GRID_DECIMALS + 1):
        scaled = numbers * 10.0**decimals
        if np.abs(scaled).max() >= _EXACT:
            return None
        if np.all(np.abs(scaled - np.round(scaled)) <= 1e-6):
            return decimals
    return None


def _grid(numbers: np.ndarray, decimals: int) -> float | None:
    """The step of the values' grid on base ``10**-decimals`` (module docstring)."""
    if numbers.size == 0:
        return None
    scaled = np.unique(np.round(numbers * math.pow(10, decimals)))
    if np.abs(scaled).max() >= _EXACT:
        return None
    whole = np.abs(scaled.astype(np.int64))
    # Most columns have divisor 1 among their first values already: no need to look further.
    divisor = int(np.gcd.reduce(whole[:1_000]))
    if divisor > 1:
        divisor = int(np.gcd.reduce(whole))
    if divisor <= 1 or not _beyond_chance(divisor, scaled.size):
        divisor = 1
    return divisor / math.pow(10, decimals)


def _beyond_chance(divisor: int, distinct: int) -> bool:
    if distinct < 3:
        return False
    chance = math.pow(divisor, -distinct) + math.pow(divisor, 1 - distinct) / (distinct - 1)
    return chance <= GRID_CHANCE


def _datetime_format(
    values: pd.Series, texts: pd.Series | None, *, parse_format: str | None
) -> dict[str, object]:
    aware = getattr(values.dtype, "tz", None) is not None
    pattern, colon = None, aware
    if texts is not None and parse_format == "ISO8601":
        pattern, colon = _iso_pattern(texts)
    elif texts is not None and parse_format is not None:
        pattern, colon = parse_format, False
    granularity = _granularity(values, base_us=_resolution_us(pattern))
    if pattern is None:
        pattern = _default_pattern(granularity, aware=aware)
    return {"datetime_format": pattern, "offset_colon": colon, "granularity_s": granularity}


def _iso_pattern(texts: pd.Series) -> tuple[str | None, bool]:
    shapes = texts.head(5_000).str.extract(_ISO)
    matched = texts.head(5_000).str.match(_ISO.pattern)
    if not matched.any():
        return None, False
    shapes = shapes[matched.to_numpy()].fillna("")
    sep = shapes["sep"]
    key = (
        sep
        + "|"
        + shapes["sec"].ne("").map({True: "s", False: ""})
        + shapes["frac"].ne("").map({True: "f", False: ""})
        + "|"
        + shapes["zone"].map(_zone_kind)
    )
    sep_, fields, zone = str(key.value_counts().index[0]).split("|")
    pattern = "%Y-%m-%d"
    if sep_:
        pattern += f"{sep_}%H:%M" + (":%S" if "s" in fields else "")
        pattern += ".%f" if "f" in fields else ""
    if zone == "Z":
        return pattern + "Z", False
    if zone:
        return pattern + "%z", zone == "colon"
    return pattern, False


def _zone_kind(zone: str) -> str:
    if zone in ("", "Z"):
        return zone
    return "colon" if ":" in zone else "plain"


def _resolution_us(pattern: str | None) -> int:
    if pattern is None or "%f" in pattern:
        return 1
    if "%S" in pattern:
        return 1_000_000
    if "%M" in pattern:
        return 60_000_000
    if "%H" in pattern or "%I" in pattern:
        return 3_600_000_000
    return 86_400_000_000


def _granularity(values: pd.Series, *, base_us: int) -> float | None:
    """The coarsest wall-clock unit every value sits on, beyond chance (module docstring)."""
    local = values.dt.tz_localize(None) if getattr(values.dtype, "tz", None) else values
    micros = np.unique(local.astype("datetime64[us]").astype("int64").to_numpy())
    if micros.size == 0:
        return None
    for unit in (*_UNITS_US, *_FINE_UNITS_US):
        if unit < base_us:
            break
        if np.all(micros % unit == 0) and (
            unit == base_us or (base_us / unit) ** micros.size <= GRID_CHANCE
        ):
            return unit / 1_000_000
    return None


def _default_pattern(granularity: float | None, *, aware: bool) -> str:
    if granularity is not None and granularity >= 86_400:
        pattern = "%Y-%m-%d"
    elif granularity is not None and granularity >= 1:
        pattern = "%Y-%m-%d %H:%M:%S"
    else:
        pattern = "%Y-%m-%d %H:%M:%S.%f"
    return pattern + "%z" if aware else pattern
