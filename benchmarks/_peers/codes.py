"""A whole table as categorical codes for smartnoise's MST/AIM, and back (see :mod:`.discretise`).

Numeric and datetime columns (datetimes as epoch seconds) go through a :class:`.discretise.Plan`
built from the declared public bounds, or from :func:`.discretise.dp_bounds` with an even share of
``share * epsilon`` per undeclared column (pure ε-DP, basic composition: the worker gives
smartnoise ``epsilon - bounds_epsilon``). Categorical and boolean columns pass as their text, a
missing value as :data:`MISSING_TEXT`; smartnoise reads their category sets from the data without
charging ε (its design, which favours it, and what the notes say). Pure pandas and numpy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from benchmarks._peers.discretise import Plan, dp_bounds, plan

MISSING_TEXT = "\u2400missing"
_NUMERIC_KINDS = ("numeric", "datetime")
_TEXT_KINDS = ("categorical", "boolean")


@dataclass(frozen=True)
class Encoded:
    """The codes of a table and what it takes to decode them.

    Attributes:
        frame: one column per modelled column: ints for numeric/datetime, text otherwise.
        plans: the discretisation of each numeric/datetime column.
        time_zones: datetime columns and their time zone (None: naive).
        bounds_epsilon: ε spent on DP bounds (0 when every bound was declared).
        notes: how each column was coded, for the results' notes.
    """

    frame: pd.DataFrame
    plans: dict[str, Plan]
    time_zones: dict[str, str | None] = field(default_factory=dict)
    bounds_epsilon: float = 0.0
    notes: list[str] = field(default_factory=list)


def _seconds(values: pd.Series) -> tuple[pd.Series, str | None]:
    parsed = pd.to_datetime(values, errors="coerce", utc=True)
    tz = getattr(values.dtype, "tz", None)
    # Through a timedelta: pandas 2 parses to nanoseconds, pandas 3 to microseconds.
    seconds = (parsed - pd.Timestamp(0, tz="UTC")).dt.total_seconds()
    return seconds, None if tz is None else str(tz)


def _declared_bounds(meta: object) -> tuple[float, float] | None:
    if isinstance(meta, Mapping) and meta.get("bounds"):
        low, high = meta["bounds"]
        return float(low), float(high)
    return None


def encode_table(
    frame: pd.DataFrame,
    columns: Sequence[Mapping[str, Any]],
    *,
    declared: Mapping[str, Any],
    epsilon: float,
    share: float,
    rng: np.random.Generator,
) -> Encoded:
    """Codes of the modelled ``columns`` of ``frame`` (identifier and text columns left out).

    Args:
        frame: the training rows as :func:`.protocol.load_table` reads them.
        columns: ``{"name", "kind", "integer"?}`` per column.
        declared: public metadata per column (``{"bounds": [low, high]}``; datetimes in epoch s).
        epsilon: the run's total ε.
        share: share of ``epsilon`` for the DP bounds of undeclared numeric/datetime columns.
        rng: the noise of :func:`.discretise.dp_bounds`.
    """
    numeric = [c for c in columns if c["kind"] in _NUMERIC_KINDS]
    undeclared = [c for c in numeric if _declared_bounds(declared.get(c["name"])) is None]
    bounds_epsilon = share * epsilon if undeclared else 0.0
    each = bounds_epsilon / len(undeclared) if undeclared else 0.0
    out: dict[str, pd.Series] = {}
    plans: dict[str, Plan] = {}
    zones: dict[str, str | None] = {}
    notes: list[str] = []
    for column in columns:
        name, kind = column["name"], column["kind"]
        if kind in _TEXT_KINDS:
            text = frame[name].astype(object)
            out[name] = text.where(text.notna(), MISSING_TEXT).astype(str)
            continue
        if kind not in _NUMERIC_KINDS:
            continue
        values = frame[name]
        if kind == "datetime":
            values, zones[name] = _seconds(values)
        integer = bool(column.get("integer", False)) or kind == "datetime"
        bounds = _declared_bounds(declared.get(name))
        source = "declared"
        if bounds is None:
            bounds = dp_bounds(values, epsilon=each, rng=rng, integer=integer)
            source = f"DP (ε={each:.3g})"
        plans[name] = plan(low=bounds[0], high=bounds[1], integer=integer)
        out[name] = plans[name].encode(values)
        notes.append(f"{name}: {_describe(plans[name])}, bounds {source}")
    return Encoded(
        frame=pd.DataFrame(out, index=frame.index),
        plans=plans,
        time_zones=zones,
        bounds_epsilon=bounds_epsilon,
        notes=notes,
    )


def _describe(p: Plan) -> str:
    if p.per_integer:
        return f"{p.codes} integer codes"
    special = " + 0" if p.specials else ""
    return f"{len(p.edges) - 1} bins{special}"


def decode_table(codes: pd.DataFrame, encoded: Encoded, rng: np.random.Generator) -> pd.DataFrame:
    """The values of sampled ``codes``: numbers, datetimes and text (missing where coded so)."""
    out: dict[str, pd.Series] = {}
    for name in encoded.frame.columns:
        values = codes[name]
        if name not in encoded.plans:
            text = values.astype(object).astype(str)
            out[name] = text.where(text != MISSING_TEXT, None)
            continue
        numbers = encoded.plans[name].decode(values, rng)
        if name in encoded.time_zones:
            stamps = pd.to_datetime(numbers.round(), unit="s", utc=True, errors="coerce")
            zone = encoded.time_zones[name]
            stamps = stamps.dt.tz_convert(zone) if zone else stamps.dt.tz_localize(None)
            out[name] = pd.Series(stamps, index=values.index)
        else:
            out[name] = numbers
    return pd.DataFrame(out, index=codes.index)
