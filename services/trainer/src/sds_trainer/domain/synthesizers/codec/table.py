"""The one preprocessing and decoding path of every synthesizer: a table's released domains.

Both model families (``aim``/``mst`` and ``dp-ctgan``) fit a :class:`TableCodec` first: one
released domain per column (:mod:`.numeric`, :mod:`.categorical`, :mod:`.identifier`), every
data-dependent statistic a planned, charged Gaussian histogram (:func:`plan` counts them before
any data is read). The model then works on codes or encodings of those domains, and its output
goes back through the codec (:meth:`TableCodec.finish`): every column of the input, in its order,
in its dtype, on its grid, inside its released range; identifier columns regenerated.

What the codec treats as public: the schema the datasets service inferred (column names, kinds,
integer-ness, whether a column may be missing, and each column's format: decimals, value grid,
date format and granularity; see ``sds_common.tables.formats``), what the owner declared
(bounds, categories, the classes of a declared target column) and the number of rows. The
privacy report lists each of them as a public-metadata step.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped, unused-ignore]

from sds_trainer.domain.synthesizers.base import PUBLIC_METADATA, ColumnSpec
from sds_trainer.domain.synthesizers.codec import identifier, numeric
from sds_trainer.domain.synthesizers.codec.categorical import CategoricalDomain, fit_categorical
from sds_trainer.domain.synthesizers.codec.identifier import IdentifierDomain, fit_identifier
from sds_trainer.domain.synthesizers.codec.mechanisms import CLEAR, NoiseLevels
from sds_trainer.domain.synthesizers.codec.numeric import NumericDomain, fit_numeric
from sds_trainer.domain.synthesizers.codec.values import (
    can_hold_missing,
    grid_unit,
    numeric_values,
)

Domain = NumericDomain | CategoricalDomain | IdentifierDomain
#: ``charge(column, statistic, thresholded)``: called once before each histogram is drawn.
ChargeFn = Callable[[str, str, bool], None]
NUMERIC_KINDS = frozenset({"numeric", "datetime"})
#: Seconds from the epoch a datetime may lie at most (pandas' nanosecond range, rounded in).
DATETIME_LIMIT_S = 9.2e9
DISCRETE_KINDS = frozenset({"categorical", "boolean", "text"})


@dataclass(frozen=True)
class HistogramPlan:
    """How many Gaussian histograms the codec releases, and how many are thresholded."""

    histograms: int
    thresholded: int


@dataclass(frozen=True)
class PublicStep:
    """A statistic covered by public metadata (no ε)."""

    column: str
    statistic: str
    coverage: str = PUBLIC_METADATA


def _grid(spec: ColumnSpec) -> tuple[float, bool]:
    return grid_unit(kind=spec.kind, integer=spec.integer, fmt=spec.format)


def plan(specs: Sequence[ColumnSpec], *, frequencies: bool) -> HistogramPlan:
    """Count the histograms :meth:`TableCodec.fit` releases for ``specs`` (data-independent)."""
    histograms = thresholded = 0
    for spec in specs:
        if spec.kind in NUMERIC_KINDS:
            atoms = not _grid(spec)[1]
            histograms += numeric.histograms(kind=spec.kind, atoms=atoms)
            thresholded += int(atoms)
        elif spec.kind == "identifier":
            histograms += identifier.HISTOGRAMS
            thresholded += identifier.HISTOGRAMS
        elif spec.kind in DISCRETE_KINDS:
            public = spec.kind == "boolean" or spec.categories is not None
            # A declared list (not a target's classes) has an other bucket to test.
            listed = spec.kind != "boolean" and spec.categories_origin != "target"
            other = spec.categories is not None and listed
            histograms += 1 if not public or frequencies or spec.nullable or other else 0
            thresholded += int(not public)
    return HistogramPlan(histograms=histograms, thresholded=thresholded)


@dataclass
class TableCodec:
    """Released domains of a table's columns, in input order (see the module docstring)."""

    domains: list[Domain]
    public: list[PublicStep] = field(default_factory=list)

    @property
    def modelled(self) -> list[NumericDomain | CategoricalDomain]:
        """The domains a model sees (identifiers are regenerated, never modelled)."""
        return [d for d in self.domains if not isinstance(d, IdentifierDomain)]

    @classmethod
    def fit(
        cls,
        data: pd.DataFrame,
        specs: Sequence[ColumnSpec],
        *,
        noise: NoiseLevels | None,
        threshold_delta: float | None,
        rng: Any,
        charge: ChargeFn,
        frequencies: bool,
    ) -> TableCodec:
        """Release every column's domain.

        Args:
            data: The table.
            specs: One spec per column to synthesise.
            noise: Noise of the thresholded and of the other histograms; None: exact statistics
                (a non-private fit).
            threshold_delta: δ₀ of each thresholded histogram.
            rng: Noise source (OS entropy in production, see ``mechanisms.noise_source``).
            charge: Called once per histogram, before it is drawn.
            frequencies: Also release DP counts of public-domain discrete columns.
        """
        domains: list[Domain] = []
        public: list[PublicStep] = []
        discovery = noise.discovery if noise is not None else None
        shape = noise.shape if noise is not None else None
        for spec in specs:
            series = data[spec.name]

            def charge_column(statistic: str, thresholded: bool, *, name: str = spec.name) -> None:
                charge(name, statistic, thresholded)

            public.append(PublicStep(spec.name, "kind and format", PUBLIC_METADATA + " (schema)"))
            missing = spec.nullable and can_hold_missing(series.dtype)
            if spec.kind in NUMERIC_KINDS:
                domains.append(
                    _fit_numeric(
                        spec,
                        series,
                        missing=missing,
                        noise=noise,
                        threshold_delta=threshold_delta,
                        rng=rng,
                        charge=charge_column,
                    )
                )
                if spec.bounds is not None:
                    public.append(PublicStep(spec.name, "bounds"))
            elif spec.kind == "identifier":
                domains.append(
                    fit_identifier(
                        series,
                        name=spec.name,
                        integer=pd.api.types.is_integer_dtype(series.dtype),
                        sigma=discovery,
                        threshold_delta=threshold_delta,
                        rng=rng,
                        charge=charge_column,
                    )
                )
            else:
                domain = fit_categorical(
                    series,
                    name=spec.name,
                    kind=spec.kind,
                    declared=spec.categories,
                    origin=spec.categories_origin,
                    missing=missing,
                    frequencies=frequencies,
                    other_label=spec.other_label,
                    sigma=discovery,
                    counts_sigma=shape,
                    threshold_delta=threshold_delta,
                    rng=rng,
                    charge=charge_column,
                )
                domains.append(domain)
                if domain.origin != "dp":
                    public.append(PublicStep(spec.name, "categories", _category_coverage(domain)))
        return cls(domains=domains, public=public)

    def summary(self) -> list[dict[str, Any]]:
        """Per column, what was released and what the synthetic column will look like.

        For the privacy report: identifiers regenerated (and how), categories found under DP
        with the rows that fell into the other bucket and why, the released numeric ranges.
        Everything here is DP output or public metadata.
        """
        out: list[dict[str, Any]] = []
        for d in self.domains:
            entry: dict[str, Any] = {"column": d.name}
            if isinstance(d, IdentifierDomain):
                entry["kind"] = "identifier"
                entry["regenerated"] = d.origin
                entry["note"] = (
                    "not modelled: regenerated as unique values of the shape released under DP"
                    if d.origin == "shape"
                    else "not modelled: no common shape could be released under DP, so it is "
                    "regenerated as the sequence 1..n"
                )
            elif isinstance(d, CategoricalDomain):
                entry.update(_categorical_summary(d))
            else:
                entry["kind"] = d.kind
                entry["released_range"] = _range(d)
                if not d.found:
                    entry["warning"] = (
                        "no part of this column's range stood clear of the DP noise (too few "
                        "rows for this budget): its synthetic values are unreliable; declare "
                        "its bounds (schema review) or raise ε"
                    )
            out.append(entry)
        return out

    def finish(
        self, decoded: Mapping[str, pd.Series[Any]], n: int, rng: np.random.Generator
    ) -> pd.DataFrame:
        """The synthetic table: every column in input order, identifiers regenerated."""
        out: dict[str, pd.Series[Any]] = {}
        for domain in self.domains:
            if isinstance(domain, IdentifierDomain):
                out[domain.name] = domain.generate(n, rng)
            else:
                out[domain.name] = decoded[domain.name].reset_index(drop=True)
        return pd.DataFrame(out, index=range(n))

    def to_state(self) -> dict[str, Any]:
        """Plain-python state (JSON and ``torch.load(weights_only=True)`` safe)."""
        return {
            "domains": [d.to_state() for d in self.domains],
            "public": [[p.column, p.statistic, p.coverage] for p in self.public],
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> TableCodec:
        """Rebuild from :meth:`to_state`."""
        return cls(
            domains=[domain_from_state(d) for d in state["domains"]],
            public=[PublicStep(str(a), str(b), str(c)) for a, b, c in state["public"]],
        )


def _categorical_summary(d: CategoricalDomain) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "kind": d.kind,
        "categories": d.origin,
        "released_categories": len(d.categories),
    }
    if d.other and d.counts:
        entry["other_rows"] = round(max(d.counts[len(d.categories)], 0.0))
    if d.origin == "dp" and d.threshold is not None:
        entry["other_label"] = d.other_label
        entry["note"] = (
            f"categories held by fewer than about {d.threshold:,.0f} rows cannot be released "
            f"at this budget and are written as {d.other_label!r}; declare the column's "
            "categories as public metadata (schema review) to keep them"
        )
    elif d.other:
        entry["other_label"] = d.other_label
        entry["note"] = f"values outside the declared categories are written as {d.other_label!r}"
    return entry


def _range(d: NumericDomain) -> list[Any]:
    """The released range in the column's own values (whole units on a grid)."""
    low, high = (math.ceil(d.low), math.ceil(d.high) - 1) if d.grid else (d.low, d.high)
    values = d.typed(np.asarray([low, max(high, low)], dtype=np.float64))
    return [v.isoformat() if hasattr(v, "isoformat") else float(v) for v in values]


def domain_from_state(state: Mapping[str, Any]) -> Domain:
    """Rebuild one domain from its ``to_state``."""
    fields = {k: v for k, v in state.items() if k != "type"}
    kind = state["type"]
    if kind == "numeric":
        return NumericDomain(**fields)
    if kind == "identifier":
        return IdentifierDomain(**fields)
    return CategoricalDomain(**fields)


def _category_coverage(domain: CategoricalDomain) -> str:
    if domain.origin == "boolean":
        return PUBLIC_METADATA + " (boolean)"
    if domain.origin == "target":
        return PUBLIC_METADATA + " (the declared target's classes, declared public by the owner)"
    return PUBLIC_METADATA


def _fit_numeric(
    spec: ColumnSpec,
    series: pd.Series[Any],
    *,
    missing: bool,
    noise: NoiseLevels | None,
    threshold_delta: float | None,
    rng: Any,
    charge: Callable[[str, bool], None],
) -> NumericDomain:
    unit, grid = _grid(spec)
    units = numeric_values(series, spec.kind) / unit
    present = units[~np.isnan(units)]
    if grid:
        present = np.round(present)
    bounds = None
    if spec.bounds is not None:
        bounds = (spec.bounds[0] / unit, spec.bounds[1] / unit)
    released = fit_numeric(
        present,
        kind=spec.kind,
        bounds=bounds,
        grid=grid,
        atoms=not grid,
        rows=len(series),
        missing=int(np.isnan(units).sum()) if missing else None,
        noise=noise,
        threshold_delta=threshold_delta,
        rng=rng,
        charge=charge,
        # A datetime stays inside what pandas can hold (nanoseconds: years 1677 to 2262).
        limit=DATETIME_LIMIT_S / unit if spec.kind == "datetime" else None,
    )
    return NumericDomain(
        name=spec.name,
        kind=spec.kind,
        dtype=str(series.dtype),
        unit=unit,
        grid=grid,
        decimals=spec.format.decimals if spec.format is not None else None,
        # A missing code only where missing rows stood clear of the noise (post-processing).
        missing=missing and (noise is None or released.missing_weight >= CLEAR * noise.shape),
        edges=released.edges,
        weights=released.weights,
        atoms=released.atoms,
        atom_weights=released.atom_weights,
        missing_weight=released.missing_weight,
        found=released.found,
    )
