"""A column's *format*: how its values were written in the uploaded file.

Every service reads a dataset as a typed table (Parquet, one pandas dtype per column: ``Int64``,
``float64``, ``boolean``, ``string``, ``datetime64[us]`` or ``datetime64[us, <zone>]``). The format
records what that typing loses, so the synthetic table can be written back exactly as the user
wrote theirs: a yes/no column stays yes/no, ``3.10`` keeps two decimals, hourly timestamps stay
on the hour and in ``2013-09-13T12:00:00Z`` form, a missing cell is written as the file wrote it.

The format is schema, like the column's kind and integer-ness: facts about how the file is written,
not values of a row. It is part of the public metadata the owner reviews (the schema review shows
it); the privacy report says that the guarantee treats it as public.

The datasets service detects it (``sds_datasets.domain.formats``); the trainer decodes synthetic
values onto it (grid, decimals, granularity, dtype); the gateway renders downloads with it
(:mod:`sds_common.tables.render`); the evaluator checks synthetic tables against it.
"""

from __future__ import annotations

import math
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

ColumnKind = Literal["numeric", "categorical", "boolean", "datetime", "identifier", "text"]
DATETIME_KINDS: Final = frozenset({"datetime"})


class BooleanTokens(BaseModel):
    """The texts a two-valued column was written with (``"1"``/``"0"``, ``"Yes"``/``"No"``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    true: str = Field(min_length=1, max_length=20)
    false: str = Field(min_length=1, max_length=20)


class ColumnFormat(BaseModel):
    """How one column's values were written (see the module docstring).

    Attributes:
        dtype: The typed column's pandas dtype, which synthetic columns must have too.
        source_type: The column's type in the file: ``"text"`` for CSV/TSV and JSON strings, else
            the Parquet/JSON type (``"int64"``, ``"double"``, ``"bool"``, ``"timestamp[us]"``...).
            Downloads in Parquet restore it.
        boolean: For a two-valued column: the texts of True and False as written (the most
            frequent spelling of each); None for native booleans.
        decimals: Numeric columns written as text: the most digits seen after the decimal point
            (0 for integers); None when unknown (binary floats).
        fixed_decimals: Every value had exactly ``decimals`` digits (``3.10``, ``2.00``): written
            back padded; otherwise written in the shortest form up to ``decimals`` digits.
        step: Numeric columns whose values all lie on multiples of ``step`` (1 for integers,
            0.5, 5, 100, 0.01 for cents...); synthetic values stay on that grid. None: no grid.
        datetime_format: strftime pattern that writes the column back (``%Y-%m-%dT%H:%M:%SZ``);
            ``%z`` writes a ``+02:00``-style offset when ``offset_colon``.
        offset_colon: The zone offset was written with a colon (``+02:00``).
        granularity_s: Datetimes whose values all lie on whole multiples of this many seconds
            (86400: dates only; 3600: on the hour; 1: whole seconds); None: finer or unknown.
        missing_markers: The texts read as missing in this column (the empty field included
            when the file had empty cells); the profile lists them, the owner may override them.
        missing_token: How a missing cell is written back (the most frequent marker).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    dtype: str = Field(min_length=1, max_length=100)
    source_type: str = Field(default="text", min_length=1, max_length=100)
    boolean: BooleanTokens | None = None
    decimals: int | None = Field(default=None, ge=0, le=18)
    fixed_decimals: bool = False
    step: float | None = Field(default=None, gt=0)
    datetime_format: str | None = Field(default=None, max_length=100)
    offset_colon: bool = False
    granularity_s: float | None = Field(default=None, gt=0)
    missing_markers: tuple[str, ...] = ()
    missing_token: str = Field(default="", max_length=50)

    @field_validator("step", "granularity_s")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value


class ColumnOverride(BaseModel):
    """What the owner says about a column at upload, over what would be inferred.

    Attributes:
        kind: Force the column's kind (e.g. ``"identifier"`` for a key column the inference took
            for a category, or ``"categorical"`` to unmark a column read as an identifier).
        missing_markers: The exact texts that mean "missing" in this column (replacing the
            default rule); ``[]`` means only the empty field.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ColumnKind | None = None
    missing_markers: tuple[str, ...] | None = Field(default=None, max_length=50)
