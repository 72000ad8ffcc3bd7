"""Identifier columns: never modelled, regenerated as unique values of the same shape.

A row key says nothing about the population; copying or modelling it would at best copy keys
and at worst link a synthetic row to a real person. Its *shape* is worth keeping, so that the
synthetic table loads where the real one does: ``CASE-00123`` stays ``CASE-`` plus five digits,
a UUID stays a UUID, a 6-digit integer key stays a 6-digit integer.

The shape is released under DP like any other statistic: each value maps to a key — its literal
prefix (the letters and signs before the first digit) plus one class per remaining character
(``9`` digit, ``A`` upper-case, ``a`` lower-case, ``x``/``X`` hexadecimal for hex strings such as
UUIDs, other signs literally) — and a stability histogram releases the keys that many rows share
(a second one, without the prefix, when prefixes vary). Synthetic ids are drawn from the released
keys, in proportion to their counts, with random characters of each class, unique. When no key
can be released (a small table, or ids of no common shape) the column becomes a sequence
``1..n`` (zero-padded text for a text column): the report says which.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd  # type: ignore[import-untyped, unused-ignore]

from sds_trainer.domain.synthesizers.codec.mechanisms import stability_histogram

_HEX = re.compile(r"^(?=.*[a-fA-F])(?=.*\d)[0-9a-fA-F-]{8,}$")
_PREFIX = re.compile(r"^[^0-9]{1,12}(?=[0-9])")
_CLASSES = {
    "9": string.digits,
    "A": string.ascii_uppercase,
    "a": string.ascii_lowercase,
    "x": "0123456789abcdef",
    "X": "0123456789ABCDEF",
}
#: Separates a key's literal prefix from its class pattern (never part of a value's text).
SEP = "\x00"


def shape_key(value: str, *, prefix: bool) -> str:
    """The key of one value: ``literal-prefix SEP class-pattern`` (see the module docstring)."""
    head = ""
    if prefix and (found := _PREFIX.match(value)):
        head = found.group(0)
    rest = value[len(head) :]
    if _HEX.match(value):
        hexed = "".join("-" if c == "-" else ("X" if c.isupper() else "x") for c in rest)
        return head + SEP + hexed
    pattern = []
    for c in rest:
        if c.isdigit():
            pattern.append("9")
        elif c.isascii() and c.isupper():
            pattern.append("A")
        elif c.isascii() and c.islower():
            pattern.append("a")
        elif c in _CLASSES:  # pragma: no cover - digits and letters are handled above
            pattern.append(c)
        else:
            pattern.append(c if c.isascii() and not c.isalnum() else "a")
    return head + SEP + "".join(pattern)


#: Thresholded histograms :func:`fit_identifier` releases: keys with and without the prefix.
HISTOGRAMS = 2


@dataclass
class IdentifierDomain:
    """The released shape of one identifier column.

    Attributes:
        keys: Released shape keys (``prefix SEP pattern``); empty: a sequence.
        weights: DP count of each key.
        integer: The column holds integers.
    """

    name: str
    dtype: str
    keys: list[str]
    weights: list[float]
    integer: bool

    @property
    def origin(self) -> str:
        """``"shape"`` when a shape was released, else ``"sequence"``."""
        return "shape" if self.keys else "sequence"

    def generate(self, n: int, rng: np.random.Generator) -> pd.Series[Any]:
        """``n`` unique values of the released shape (or the sequence ``1..n``)."""
        values = self._from_shapes(n, rng) if self.keys else None
        if values is None:
            if self.integer:
                return pd.Series(np.arange(1, n + 1)).astype(self.dtype)
            width = len(str(max(n, 1)))
            values = [f"{i:0{width}d}" for i in range(1, n + 1)]
        series = pd.Series(values, dtype=object)
        if self.integer:
            return pd.to_numeric(series).astype(self.dtype)
        return series.astype(self.dtype) if self.dtype != "object" else series

    def _from_shapes(self, n: int, rng: np.random.Generator) -> list[str] | None:
        weights = np.maximum(np.asarray(self.weights, dtype=np.float64), 0.0)
        if weights.sum() <= 0:
            weights = np.ones(len(self.keys))
        room = np.asarray([_capacity(k) for k in self.keys]) // 2
        if room.sum() < n:
            return None  # too few distinct values of this shape for unique ids
        chosen = rng.choice(len(self.keys), size=n, p=weights / weights.sum())
        needs = _within(np.bincount(chosen, minlength=len(self.keys)), room)
        seen: set[str] = set()
        out: list[str] = []
        for key, need in zip(self.keys, needs, strict=True):
            values = _unique(key, int(need), rng, seen)
            if values is None:
                return None
            out += values
        order = rng.permutation(len(out))
        return [out[i] for i in order]

    def to_state(self) -> dict[str, Any]:
        """Plain-python state."""
        return {"type": "identifier", **self.__dict__}


def _capacity(key: str) -> float:
    head, _, pattern = key.partition(SEP)
    total = 1.0
    for i, c in enumerate(pattern):
        size = len(_CLASSES.get(c, "x"))
        if c == "9" and i == 0 and not head:
            size = 9  # no leading zero where the value starts with a digit (integer keys)
        total *= size if c in _CLASSES else 1
        if total > 1e18:
            break
    return total


def _fill(key: str, count: int, rng: np.random.Generator) -> list[str]:
    head, _, pattern = key.partition(SEP)
    columns = []
    for i, c in enumerate(pattern):
        alphabet = _CLASSES.get(c)
        if alphabet is None:
            columns.append(np.full(count, c, dtype=object))
            continue
        if c == "9" and i == 0 and not head:
            alphabet = alphabet[1:]
        picks = rng.integers(0, len(alphabet), size=count)
        columns.append(np.asarray(list(alphabet), dtype=object)[picks])
    if not columns:
        return [head] * count
    return [head + "".join(row) for row in zip(*columns, strict=True)]


def _within(needs: npt.NDArray[np.int64], room: npt.NDArray[np.float64]) -> list[int]:
    """``needs`` moved so that no shape takes more than its ``room`` (half its distinct values,
    so drawing unique ones stays quick): the excess goes to the shapes with room left, the
    roomiest first. The caller checked that the rooms hold them all."""
    out = [int(min(need, r)) for need, r in zip(needs, room, strict=True)]
    excess = int(needs.sum()) - sum(out)
    for j in np.argsort(-room, kind="stable"):
        take = int(min(excess, room[j] - out[j]))
        out[j] += take
        excess -= take
    return out


def _unique(key: str, need: int, rng: np.random.Generator, seen: set[str]) -> list[str] | None:
    """``need`` values of shape ``key`` not in ``seen`` (added to it); None when rounds of
    draws stop finding new ones (the shape's values taken by another shape's)."""
    out: list[str] = []
    idle = 0
    while len(out) < need:
        before = len(out)
        for value in _fill(key, int((need - len(out)) * 1.2) + 8, rng):
            if value not in seen:
                seen.add(value)
                out.append(value)
                if len(out) == need:
                    break
        idle = idle + 1 if len(out) == before else 0
        if idle >= 20:
            return None
    return out


def fit_identifier(
    series: pd.Series[Any],
    *,
    name: str,
    integer: bool,
    sigma: float | None,
    threshold_delta: float | None,
    rng: Any,
    charge: Any,
) -> IdentifierDomain:
    """Release the shape of one identifier column (see the module docstring)."""
    present = series.dropna()
    texts = [str(int(v)) if integer else str(v) for v in present]
    found = None
    for with_prefix in (True, False):
        charge("shape (with prefix)" if with_prefix else "shape", True)
        released = stability_histogram(
            [shape_key(t, prefix=with_prefix) for t in texts],
            sigma=sigma,
            delta=threshold_delta,
            rng=rng,
        )
        if found is None and released.keys:
            found = released
    return IdentifierDomain(
        name=name,
        dtype=str(series.dtype),
        keys=list(found.keys) if found else [],
        weights=list(found.counts) if found else [],
        integer=integer,
    )
