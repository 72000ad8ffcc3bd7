"""A categorical, boolean or free-text column's released domain: categories, `(other)`, missing.

Codes are ``0..size-1``: the released categories (in a deterministic order), then the
*other* bucket, then the missing code when the column may be missing.

* Declared categories (public metadata, or the classes of a declared target column) and booleans
  are a public domain: nothing is found under DP; values outside a declared set fall into the
  other bucket.
* Otherwise the categories are the values a stability histogram releases (see
  :mod:`.mechanisms`): a value held by fewer than about ``τ`` rows cannot be released, and its
  rows fall into the other bucket.

The other bucket is a category like any other: it is modelled, sampled and written out under a
visible label (default ``(other)``), so no real category ever becomes a missing value and no
real value is invented for a row whose value was not released. Free text is handled the same
way: only texts many rows share can be released.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped, unused-ignore]

from sds_trainer.domain.synthesizers.codec.mechanisms import (
    CLEAR,
    IntArray,
    public_counts,
    stability_histogram,
    stability_threshold,
)
from sds_trainer.domain.synthesizers.codec.values import can_hold_missing

BOOLEAN_CATEGORIES = ("False", "True")


@dataclass
class CategoricalDomain:
    """The released domain of one categorical/boolean/text column.

    Attributes:
        categories: Released categories, as strings, in model order.
        other: An other bucket follows them (code ``len(categories)``).
        missing: A missing code comes last.
        counts: DP counts of every code (empty when no frequencies were released).
        other_label: How the other bucket is written out.
        origin: ``"dp"`` (found under DP), ``"declared"``, ``"target"`` or ``"boolean"``.
        threshold: For categories found under DP, the release threshold τ: a category held by
            fewer rows than about this is unlikely to be released.
    """

    name: str
    kind: str
    dtype: str
    categories: list[str]
    other: bool
    missing: bool
    counts: list[float]
    other_label: str
    origin: str
    threshold: float | None = None

    @property
    def size(self) -> int:
        """Number of codes."""
        return len(self.categories) + int(self.other) + int(self.missing)

    @property
    def other_code(self) -> int | None:
        """Code of the other bucket, if any."""
        return len(self.categories) if self.other else None

    @property
    def missing_code(self) -> int | None:
        """Code of a missing value, if any."""
        return self.size - 1 if self.missing else None

    def encode(self, series: pd.Series[Any]) -> IntArray:
        """Codes of ``series``: unreleased values → the other bucket (or the first code)."""
        mask = series.isna().to_numpy()
        strings = _labels(series)
        lookup = {c: i for i, c in enumerate(self.categories)}
        fallback = self.other_code if self.other_code is not None else 0
        codes = np.fromiter(
            (lookup.get(s, fallback) for s in strings), dtype=np.int64, count=len(strings)
        )
        missing = self.missing_code
        codes[mask] = missing if missing is not None else fallback
        return codes

    def code_of(self, value: Any) -> int | None:
        """The code of one released value (None when it is not a released category)."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return self.missing_code
        label = str(value)
        if label not in self.categories:
            return None
        return self.categories.index(label)

    def labels(self) -> list[str | None]:
        """What each code is written as (None: missing)."""
        out: list[str | None] = list(self.categories)
        if self.other:
            out.append(self.other_label)
        if self.missing:
            out.append(None)
        return out

    def decode(self, codes: IntArray) -> pd.Series[Any]:
        """Values of ``codes`` in the column's dtype where it can hold them."""
        series = pd.Series(np.asarray(self.labels(), dtype=object)[codes], dtype=object)
        dtype = pd.api.types.pandas_dtype(self.dtype)
        if self.kind == "boolean":
            mapped = series.map({"True": True, "False": False})
            keeps = mapped.notna().all() or can_hold_missing(dtype)
            return mapped.astype(dtype if keeps else "boolean")
        if pd.api.types.is_numeric_dtype(dtype):
            numbers = pd.to_numeric(series, errors="coerce")
            lost = numbers.isna() & series.notna()
            if not lost.any() and (numbers.notna().all() or can_hold_missing(dtype)):
                return numbers.astype(dtype)
            return series.astype("string")
        if isinstance(dtype, pd.StringDtype):
            return series.astype(dtype)
        # object or categorical columns: written as text (the other bucket is a new label)
        return series.astype("string") if isinstance(dtype, pd.CategoricalDtype) else series

    def to_state(self) -> dict[str, Any]:
        """Plain-python state."""
        return {"type": "categorical", **self.__dict__}


def _labels(series: pd.Series[Any]) -> np.ndarray[Any, np.dtype[np.object_]]:
    if pd.api.types.is_bool_dtype(series.dtype):
        series = series.map({True: "True", False: "False"}).astype(object)
    labels: np.ndarray[Any, np.dtype[np.object_]] = series.astype(str).to_numpy(dtype=object)
    return labels


def unique_label(wanted: str, taken: list[str]) -> str:
    """``wanted``, or a variant of it that is not one of the released categories."""
    label, k = wanted, 2
    while label in taken:
        label = f"{wanted} {k}"
        k += 1
    return label


def fit_categorical(
    series: pd.Series[Any],
    *,
    name: str,
    kind: str,
    declared: tuple[str, ...] | None,
    origin: str,
    missing: bool,
    frequencies: bool,
    other_label: str,
    sigma: float | None,
    counts_sigma: float | None,
    threshold_delta: float | None,
    rng: Any,
    charge: Any,
) -> CategoricalDomain:
    """Release one column's domain (and, with ``frequencies``, DP counts of every code).

    Args:
        series: The column.
        name: Its name.
        kind: ``"categorical"``, ``"boolean"`` or ``"text"``.
        declared: Public categories (declared, or the target's classes); None: found under DP.
        origin: Where declared categories come from (``"declared"``, ``"target"``).
        missing: The column may be missing (a missing code exists).
        frequencies: Release a noisy count of every code (dp-ctgan's conditional sampler and
            calibration need them; the marginal methods measure them in their own run).
        other_label: Label of the other bucket.
        sigma: Noise of the stability histogram; None: exact statistics.
        counts_sigma: Noise of a public domain's counts (``frequencies``).
        threshold_delta: δ₀ of a stability histogram.
        rng: Noise source.
        charge: ``charge(statistic, thresholded)``, called once before each histogram.
    """
    mask = series.isna().to_numpy()
    released = None
    threshold: float | None = None
    missing_count = float(mask.sum())
    rest = 0.0
    if kind == "boolean":
        cats, other, origin = list(BOOLEAN_CATEGORIES), False, "boolean"
    elif declared is not None:
        # The classes of a declared target are all the values the column holds: nothing can
        # fall outside them. A declared list may leave values out: they need the bucket.
        cats, other = list(declared), origin != "target"
    else:
        charge("categories", True)
        released = stability_histogram(
            list(_labels(series[~mask])),
            sigma=sigma,
            delta=threshold_delta,
            rng=rng,
            public=(int(mask.sum()),) if missing else (),
        )
        cats, other, origin = list(released.keys), True, "dp"
        if sigma is not None and threshold_delta is not None:
            threshold = stability_threshold(sigma=sigma, delta=threshold_delta)
    domain = CategoricalDomain(
        name=name,
        kind=kind,
        dtype=str(series.dtype),
        categories=cats,
        other=other,
        missing=missing,
        counts=[],
        other_label=unique_label(other_label, cats),
        origin=origin,
        threshold=threshold,
    )
    if released is not None:
        # The other bucket holds what the released categories and the missing count leave of
        # n (public): post-processing.
        known = [max(c, 0.0) for c in released.counts]
        rest = max(len(series) - sum(known) - sum(released.public), 0.0)
        domain.counts = [*known, rest, *released.public]
    elif frequencies:
        charge("frequencies", False)
        _release_frequencies(domain, series, sigma=counts_sigma, rng=rng)
    elif missing or other:
        charge(_counts_statistic(other=other, missing=missing), False)
        missing_count = _test_public_domain(domain, series, sigma=counts_sigma, rng=rng)
    if released is not None and sigma is not None and rest < CLEAR * sigma:
        # Every value the rows hold was released (what is left over is noise): no bucket.
        domain.other = False
        domain.counts = [*known, *released.public]
    if domain.missing:
        if domain.counts:
            missing_count = domain.counts[-1]
        noise = sigma if released is not None else counts_sigma
        if noise is not None and missing_count < CLEAR * noise:
            # The schema allows missing cells, but too few stand clear of the noise: the code
            # is dropped (those rows join the other bucket) rather than sampled out of noise.
            domain.missing = False
            domain.counts = domain.counts[:-1]
    return domain


def _release_frequencies(
    domain: CategoricalDomain, series: pd.Series[Any], *, sigma: float | None, rng: Any
) -> None:
    """Release a noisy count of every code of a public domain (its other bucket goes where no
    row stands clear outside the declared list, see :func:`_test_public_domain`)."""
    codes = domain.encode(series)
    noisy = public_counts(codes, n_codes=domain.size, sigma=sigma, rng=rng)
    domain.counts = [float(c) for c in noisy]
    other = domain.other_code
    if other is not None and sigma is not None and domain.counts[other] < CLEAR * sigma:
        domain.other = False
        del domain.counts[other]


def _test_public_domain(
    domain: CategoricalDomain, series: pd.Series[Any], *, sigma: float | None, rng: Any
) -> float:
    """Test a public domain's other bucket and missing code against the data; return the
    released missing count.

    A public domain needs no release, but whether rows really fall outside a declared list, or
    are really missing somewhere, does: one histogram of those two counts (a row is in at most
    one; rows inside the list add to nothing). Where no row stands clear outside the declared
    list, the bucket goes: the list is the column's whole domain (the few rows outside, if any,
    take its first value). The missing count is read by the caller's check.
    """
    codes = domain.encode(series)
    parts = [c for c in (domain.other_code, domain.missing_code) if c is not None]
    picked = np.concatenate([np.full(int((codes == c).sum()), i) for i, c in enumerate(parts)])
    noisy = public_counts(picked.astype(np.int64), n_codes=len(parts), sigma=sigma, rng=rng)
    if domain.other and sigma is not None and float(noisy[0]) < CLEAR * sigma:
        domain.other = False
    return float(noisy[-1]) if domain.missing else 0.0


def _counts_statistic(*, other: bool, missing: bool) -> str:
    """Name of the charged histogram of a public domain's other and missing counts."""
    if other and missing:
        return "other and missing counts"
    return "other count" if other else "missing count"
