"""CTGAN-style reversible encoding of a table, with every statistic public or DP.

Layout of the encoded matrix, column by column:

* numeric / datetime: ``[position (tanh, 1), mode one-hot (softmax, K)]`` and, when the column is
  nullable and its dtype can hold a missing value, a ``[present, missing]`` one-hot. The modes are
  quantile intervals from a DP histogram (see :mod:`.dp_preprocessing`), standing in for CTGAN's
  Bayesian-GMM modes, which are fitted on raw data and are not DP. The position is where the value
  lies inside its mode, scaled to [-0.99, 0.99] so that a tanh can reach it. The column keeps the
  released CDF (``cdf_x``/``cdf_p``), onto which samples can be mapped (:mod:`.calibration`).
* categorical / boolean: one-hot over released categories + a rare bucket (values that did not pass
  the DP threshold or are outside the declared set) + a missing category when nullable.

The (noisy) category counts double as the conditional-vector frequencies of training-by-sampling,
so no raw count ever reaches the model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd  # type: ignore[import-untyped, unused-ignore]

from sds_trainer.domain.synthesizers.base import PUBLIC_METADATA, ColumnSpec, PreprocessingStep
from sds_trainer.domain.synthesizers.calibration import match_quantiles
from sds_trainer.domain.synthesizers.dp_preprocessing import (
    dp_discover_categories,
    dp_numeric_summary,
    dp_public_counts,
    uniform_numeric_summary,
)
from sds_trainer.domain.synthesizers.values import (
    can_hold_missing,
    datetime_series,
    numeric_values,
)

RARE = "__rare__"
MISSING = "\x00missing"
_SCALE = 0.99
NumericModes = Literal["dp_quantile", "uniform"]


@dataclass(frozen=True)
class HistogramNoise:
    """How the preprocessing's histograms are released (see :mod:`.dp_preprocessing`).

    Attributes:
        sigma: Gaussian noise of every count.
        threshold_delta: δ₀ of the thresholded category discovery, split between its columns.
        epsilon: ε of this release alone, for the per-statistic report (attributed equally).
    """

    sigma: float
    threshold_delta: float
    epsilon: float


@dataclass(frozen=True)
class Span:
    """A slice of the encoded matrix and the output activation that produces it."""

    start: int
    dim: int
    activation: Literal["tanh", "softmax"]


@dataclass(frozen=True)
class DiscreteColumn:
    """A categorical column's span in the data and in the conditional vector."""

    name: str
    data_start: int
    cond_start: int
    dim: int
    frequencies: tuple[float, ...]


class DataTransformer:
    """Fits the encoding under a preprocessing budget and maps frames to matrices and back."""

    def __init__(self, *, n_modes: int = 10, numeric_modes: NumericModes = "dp_quantile") -> None:
        self.n_modes = n_modes
        self.numeric_modes = numeric_modes
        self.columns: list[dict[str, Any]] = []

    # ---- fitting -------------------------------------------------------------------------
    def plan(self, columns: Sequence[ColumnSpec]) -> tuple[int, int]:
        """Count the DP mechanisms the fit will run: ``(all, those needing δ)``."""
        n_mech = n_delta = 0
        for spec in columns:
            if spec.kind in ("numeric", "datetime"):
                if spec.bounds is None or self.numeric_modes == "dp_quantile":
                    n_mech += 2  # a coarse and a fine histogram, see dp_numeric_summary
            elif spec.kind in ("categorical", "boolean"):
                n_mech += 1
                if spec.kind == "categorical" and spec.categories is None:
                    n_delta += 1
        return n_mech, n_delta

    def fit(
        self,
        data: pd.DataFrame,
        *,
        columns: Sequence[ColumnSpec],
        noise: HistogramNoise | None,
        rng: np.random.Generator,
    ) -> list[PreprocessingStep]:
        """Learn the encoding; with ``noise``, every data-dependent histogram is a DP release.

        Args:
            data: The table (modelled columns only are read).
            columns: Specs of the modelled columns.
            noise: The Gaussian noise of every count and the release's accounting (see
                :mod:`.dp_preprocessing`); None: no DP (exact statistics, for non-private fits).
            rng: Noise source.

        Returns:
            Every data-dependent statistic with how it was covered.
        """
        n_mech, n_delta = self.plan(columns)
        sigma = None if noise is None or n_mech == 0 else noise.sigma
        delta_each = None if noise is None or n_delta == 0 else noise.threshold_delta / n_delta
        eps_each = 0.0 if noise is None or n_mech == 0 else noise.epsilon / n_mech
        steps: list[PreprocessingStep] = []
        self.columns = []

        def charged(column: str, statistic: str, mechanism: str, *, with_delta: bool) -> None:
            if sigma is None:
                steps.append(PreprocessingStep(column, statistic, "not private (no budget)"))
                return
            d = delta_each if with_delta and delta_each is not None else 0.0
            # One joint Gaussian release over all histograms: its ε is attributed equally.
            label = f"DP mechanism {mechanism} with sigma={sigma:.4g} (ε share {eps_each:.3g})" + (
                f", δ={d:.3g}" if d else ""
            )
            steps.append(PreprocessingStep(column, statistic, label, eps_each, d))

        for spec in columns:
            series = data[spec.name]
            if spec.kind in ("numeric", "datetime"):
                values = numeric_values(series, spec.kind)
                present = values[~np.isnan(values)]
                if spec.bounds is not None:
                    steps.append(PreprocessingStep(spec.name, "bounds", PUBLIC_METADATA))
                if spec.bounds is not None and self.numeric_modes == "uniform":
                    summary = uniform_numeric_summary(bounds=spec.bounds, n_modes=self.n_modes)
                    steps.append(
                        PreprocessingStep(spec.name, "mode edges", PUBLIC_METADATA + " (bounds)")
                    )
                else:
                    summary = dp_numeric_summary(
                        present,
                        bounds=spec.bounds,
                        n_modes=self.n_modes,
                        sigma=sigma,
                        rng=rng,
                        integer=spec.integer,
                    )
                    what = "mode edges" if spec.bounds is not None else "bounds and mode edges"
                    charged(spec.name, what, "gaussian-histogram (coarse)", with_delta=False)
                    charged(
                        spec.name,
                        "marginal CDF and mode edges",
                        "gaussian-histogram (fine)",
                        with_delta=False,
                    )
                self.columns.append(
                    {
                        "name": spec.name,
                        "kind": spec.kind,
                        "edges": list(summary.edges),
                        "integer": spec.integer,
                        "missing": spec.nullable and can_hold_missing(series.dtype),
                        "dtype": str(series.dtype),
                        # The released marginal (DP output; empty when the edges are public).
                        "cdf_x": list(summary.cdf[0]),
                        "cdf_p": list(summary.cdf[1]),
                    }
                )
            else:
                self.columns.append(self._fit_discrete(spec, series, sigma, delta_each, rng))
                if spec.kind == "boolean" or spec.categories is not None:
                    steps.append(PreprocessingStep(spec.name, "categories", PUBLIC_METADATA))
                    charged(spec.name, "frequencies", "gaussian-histogram", with_delta=False)
                else:
                    charged(
                        spec.name,
                        "categories and frequencies",
                        "gaussian-stability-histogram",
                        with_delta=True,
                    )
        return steps

    def _fit_discrete(
        self,
        spec: ColumnSpec,
        series: pd.Series[Any],
        sigma: float | None,
        delta: float | None,
        rng: np.random.Generator,
    ) -> dict[str, Any]:
        missing = spec.nullable and can_hold_missing(series.dtype)
        mask = series.isna().to_numpy()
        if spec.kind == "boolean" or spec.categories is not None:
            if spec.kind == "boolean":
                # A complete public domain: no rare bucket, nothing can fall outside it.
                cats = ["False", "True"] + ([MISSING] if missing else [])
            else:
                cats = [*(spec.categories or ()), RARE] + ([MISSING] if missing else [])
            codes = self._codes(series, cats, missing=missing)
            counts = dp_public_counts(codes, n_categories=len(cats), sigma=sigma, rng=rng)
        else:
            found = dp_discover_categories(
                series[~mask].astype(str).tolist(), sigma=sigma, delta=delta, rng=rng
            )
            cats = [*found.categories, RARE] + ([MISSING] if missing else [])
            known = list(np.maximum(found.counts, 0.0))
            extra: list[float] = []
            if missing:
                # The missing bucket is in the public domain: its noisy count is always released.
                extra = list(
                    dp_public_counts(mask.astype(np.int64), n_categories=2, sigma=sigma, rng=rng)
                )[1:]
            rare = max(len(series) - sum(known) - sum(extra), 0.0)  # n is public
            counts = np.asarray([*known, rare, *extra])
        return {
            "name": spec.name,
            "kind": spec.kind,
            "categories": cats,
            "frequencies": [float(c) for c in counts],
            "missing": missing,
            "dtype": str(series.dtype),
        }

    @staticmethod
    def _codes(series: pd.Series[Any], cats: list[str], *, missing: bool) -> npt.NDArray[np.int64]:
        mask = series.isna().to_numpy()
        strings = series.astype(str).to_numpy(dtype=object)
        lookup = {c: i for i, c in enumerate(cats)}
        rare = lookup.get(RARE, 0)
        codes = np.fromiter(
            (lookup.get(s, rare) for s in strings), dtype=np.int64, count=len(strings)
        )
        codes[mask] = lookup[MISSING] if missing else rare
        return codes

    # ---- layout --------------------------------------------------------------------------
    @property
    def spans(self) -> list[Span]:
        """Output spans of the encoded matrix, in order."""
        out: list[Span] = []
        pos = 0
        for col in self.columns:
            for dim, act in self._column_spans(col):
                out.append(Span(pos, dim, act))
                pos += dim
        return out

    @staticmethod
    def _column_spans(col: dict[str, Any]) -> list[tuple[int, Literal["tanh", "softmax"]]]:
        if "edges" in col:
            spans: list[tuple[int, Literal["tanh", "softmax"]]] = [
                (1, "tanh"),
                (len(col["edges"]) - 1, "softmax"),
            ]
            return [*spans, (2, "softmax")] if col["missing"] else spans
        return [(len(col["categories"]), "softmax")]

    @property
    def output_dim(self) -> int:
        """Width of the encoded matrix."""
        return sum(s.dim for s in self.spans)

    @property
    def discrete_columns(self) -> list[DiscreteColumn]:
        """Categorical columns with their data/cond offsets and DP frequencies."""
        out: list[DiscreteColumn] = []
        data_pos = cond_pos = 0
        for col in self.columns:
            width = sum(d for d, _ in self._column_spans(col))
            if "categories" in col:
                dim = len(col["categories"])
                out.append(
                    DiscreteColumn(col["name"], data_pos, cond_pos, dim, tuple(col["frequencies"]))
                )
                cond_pos += dim
            data_pos += width
        return out

    # ---- encoding ------------------------------------------------------------------------
    def transform(self, data: pd.DataFrame) -> npt.NDArray[np.float32]:
        """Encode ``data`` (rows in order) into the model's matrix."""
        n = len(data)
        out = np.zeros((n, self.output_dim), dtype=np.float32)
        rows = np.arange(n)
        for col, span_list in zip(self.columns, self.column_spans(), strict=True):
            series = data[col["name"]]
            if "edges" in col:
                values = numeric_values(series, col["kind"])
                missing = np.isnan(values)
                edges = np.asarray(col["edges"])
                x = np.clip(np.nan_to_num(values, nan=edges[0]), edges[0], edges[-1])
                mode = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(edges) - 2)
                width = edges[mode + 1] - edges[mode]
                frac = np.where(width > 0, (x - edges[mode]) / np.where(width > 0, width, 1), 0.5)
                out[:, span_list[0].start] = (2 * frac - 1) * _SCALE
                out[rows, span_list[1].start + mode] = 1.0
                if col["missing"]:
                    out[rows, span_list[2].start + missing.astype(np.int64)] = 1.0
            else:
                codes = self._codes(series, col["categories"], missing=col["missing"])
                out[rows, span_list[0].start + codes] = 1.0
        return out

    def discrete_codes(self, matrix: npt.NDArray[np.float32]) -> npt.NDArray[np.int64]:
        """Category code of each row in each discrete column (rows by discrete columns)."""
        cols = self.discrete_columns
        codes = np.zeros((matrix.shape[0], len(cols)), dtype=np.int64)
        for j, dc in enumerate(cols):
            codes[:, j] = matrix[:, dc.data_start : dc.data_start + dc.dim].argmax(axis=1)
        return codes

    def column_spans(self) -> list[list[Span]]:
        """The spans of each column, in column order."""
        spans = iter(self.spans)
        return [[next(spans) for _ in self._column_spans(col)] for col in self.columns]

    def inverse_transform(
        self, matrix: npt.NDArray[np.float32], *, match: np.random.Generator | None = None
    ) -> pd.DataFrame:
        """Decode a model matrix (activated or raw logits: discrete spans use argmax).

        With ``match``, numeric columns whose DP marginal was released are mapped by rank onto
        it (:func:`.calibration.match_quantiles`, ``match`` drawing the jitter) before rounding.
        """
        result: dict[str, Any] = {}
        for col, span_list in zip(self.columns, self.column_spans(), strict=True):
            if "edges" in col:
                result[col["name"]] = self._decode_numeric(col, span_list, matrix, match)
            else:
                s = span_list[0]
                codes = matrix[:, s.start : s.start + s.dim].argmax(axis=1)
                result[col["name"]] = self._decode_discrete(col, codes)
        return pd.DataFrame(result)

    @staticmethod
    def _decode_numeric(
        col: dict[str, Any],
        spans: list[Span],
        matrix: npt.NDArray[np.float32],
        match: np.random.Generator | None,
    ) -> pd.Series[Any]:
        edges = np.asarray(col["edges"])
        pos = np.clip(matrix[:, spans[0].start].astype(np.float64) / _SCALE, -1.0, 1.0)
        mode = matrix[:, spans[1].start : spans[1].start + spans[1].dim].argmax(axis=1)
        values = edges[mode] + (pos + 1) / 2 * (edges[mode + 1] - edges[mode])
        missing = (
            matrix[:, spans[2].start + 1] > matrix[:, spans[2].start]
            if col["missing"]
            else np.zeros(len(values), dtype=bool)
        )
        if match is not None and len(col.get("cdf_x", ())) > 1:
            present = ~missing
            values[present] = match_quantiles(
                values[present],
                knots=np.asarray(col["cdf_x"], dtype=np.float64),
                cdf=np.asarray(col["cdf_p"], dtype=np.float64),
                jitter=match.random(int(present.sum())),
            )
        if col["integer"]:
            values = np.round(values)
        values = np.where(missing, np.nan, values)
        if col["kind"] == "datetime":
            return datetime_series(values, col["dtype"])
        dtype = col["dtype"]
        if missing.any() and not can_hold_missing(pd.api.types.pandas_dtype(dtype)):
            dtype = "float64"
        return pd.Series(values).astype(dtype)

    @staticmethod
    def _decode_discrete(col: dict[str, Any], codes: npt.NDArray[np.int64]) -> pd.Series[Any]:
        labels = np.asarray(col["categories"], dtype=object)[codes]
        # The rare bucket stands for values DP could not release (or values outside a declared
        # domain): no real value may be invented for it, so it comes out as missing.
        labels[(labels == MISSING) | (labels == RARE)] = None
        series = pd.Series(labels, dtype=object)
        if col["kind"] == "boolean":
            mapped = series.map({"True": True, "False": False, RARE: None})
            return mapped.astype(col["dtype"]) if mapped.notna().all() else mapped
        dtype = pd.api.types.pandas_dtype(col["dtype"])
        if pd.api.types.is_numeric_dtype(dtype):
            numbers = pd.to_numeric(series, errors="coerce")
            if numbers.notna().all() or can_hold_missing(dtype):
                return numbers.astype(dtype)
            return series
        if isinstance(dtype, pd.CategoricalDtype | pd.StringDtype):
            return series.astype(dtype)
        return series

    # ---- persistence ---------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        """Plain-python state (safe for ``torch.load(weights_only=True)``)."""
        return {
            "n_modes": self.n_modes,
            "numeric_modes": self.numeric_modes,
            "columns": self.columns,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> DataTransformer:
        """Rebuild from :meth:`to_state`."""
        out = cls(n_modes=int(state["n_modes"]), numeric_modes=state["numeric_modes"])
        out.columns = [dict(c) for c in state["columns"]]
        return out


def log_frequencies(frequencies: Sequence[float]) -> list[float]:
    """Training-by-sampling weights (CTGAN): log of the (DP) counts, floored at log(1)."""
    return [math.log(max(f, 0.0) + 1.0) for f in frequencies]
