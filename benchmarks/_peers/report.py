"""The peers benchmark's measurements, table and targets (all computed from one run)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from benchmarks._peers.catalogue import Run
from benchmarks._peers.protocol import Result

if TYPE_CHECKING:
    from benchmarks.synthesis import Prepared

TARGET_QUALITY = 0.98
TARGET_TSTR = 0.90
AIM_FIT_RATIO = 0.25
DPCTGAN_FIT_RATIO = 1 / 3
DPCTGAN_QUALITY = 0.85


@dataclass(frozen=True)
class Setup:
    """What every run of one benchmark invocation shares."""

    prepared: Prepared
    train_csv: Path
    delta: float
    workdir: Path
    threads: int
    quick: bool
    timeout_s: float
    epochs: int
    batch_size: int
    judge: bool = True


@dataclass(frozen=True)
class Outcome:
    """One run's measurements, or why there are none (``failure``)."""

    run: Run
    result: Result | None = None
    scores: dict[str, float] = field(default_factory=dict)
    quality: float | None = None
    failure: str | None = None

    @property
    def ok(self) -> bool:
        """True when the method fitted, sampled and was scored."""
        return self.failure is None and self.result is not None

    @property
    def fit_s(self) -> float | None:
        """Fit seconds, None without a result."""
        return None if self.result is None else self.result.fit_s

    @property
    def tstr(self) -> float | None:
        """TSTR ROC-AUC from our evaluator."""
        return self.scores.get("utility_tstr_auc")


def align(synthetic: pd.DataFrame, real: pd.DataFrame) -> pd.DataFrame:
    """``synthetic`` with ``real``'s columns and dtypes (as read back from a peer's CSV).

    Numbers that do not parse become missing; integer columns are rounded.

    Raises:
        ValueError: a column of ``real`` is absent from ``synthetic``.
    """
    missing = [c for c in real.columns if c not in synthetic.columns]
    if missing:
        raise ValueError(f"synthetic table lacks columns {missing}")
    out = {}
    for name in real.columns:
        values, dtype = synthetic[name], real[name].dtype
        if pd.api.types.is_bool_dtype(dtype):
            lowered = values.astype("string").str.lower()
            out[name] = lowered.map({"true": True, "false": False}).astype(dtype)
        elif pd.api.types.is_datetime64_any_dtype(dtype):
            out[name] = pd.to_datetime(values, errors="coerce").astype(dtype)
        elif pd.api.types.is_integer_dtype(dtype):
            numbers = pd.to_numeric(values, errors="coerce").round()
            # A numpy int column cannot hold a missing value: it becomes nullable Int64 then.
            nullable = isinstance(dtype, pd.api.extensions.ExtensionDtype) or numbers.isna().any()
            out[name] = numbers.astype("Int64" if nullable else dtype)
        elif pd.api.types.is_numeric_dtype(dtype):
            out[name] = pd.to_numeric(values, errors="coerce").astype(dtype)
        else:
            text = values.astype("string")
            out[name] = text.where(values.notna(), pd.NA).astype(dtype)
    return pd.DataFrame(out, index=synthetic.index)


def _num(value: float | None, fmt: str) -> str:
    return "—" if value is None or not math.isfinite(value) else format(value, fmt)


def table(outcomes: Sequence[Outcome]) -> str:
    """The results as a markdown table, one line per run."""
    head = (
        "| Method | ε | ε reported | Fit s | SDMetrics quality | Fidelity (ours) | TSTR AUC "
        "| TRTR AUC | DCR share | Attack AUC | Status |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n"
    )
    lines = []
    for o in outcomes:
        s = o.scores
        spent = None if o.result is None else o.result.epsilon_spent
        lines.append(
            f"| {o.run.label} | {_num(o.run.epsilon, 'g')} | {_num(spent, '.3f')} "
            f"| {_num(o.fit_s, '.1f')} | {_num(o.quality, '.3f')} "
            f"| {_num(s.get('fidelity'), '.3f')} | {_num(s.get('utility_tstr_auc'), '.3f')} "
            f"| {_num(s.get('utility_trtr_auc'), '.3f')} | {_num(s.get('dcr_share'), '.3f')} "
            f"| {_num(s.get('mia_auc'), '.3f')} | {'ok' if o.ok else o.failure} |"
        )
    return head + "\n".join(lines)


def _verdict(ok: bool) -> str:
    return "**met**" if ok else "**missed**"


def _find(outcomes: Sequence[Outcome], key: str, epsilon: float) -> Outcome | None:
    return next(
        (o for o in outcomes if o.ok and o.run.method.key == key and o.run.epsilon == epsilon),
        None,
    )


def _meets_quality(o: Outcome) -> bool:
    return (o.quality or 0.0) >= TARGET_QUALITY and (o.tstr or 0.0) >= TARGET_TSTR


def _ratio(value: float) -> str:
    """A fit-time ratio: two decimals, or two significant digits below 0.1 (not "0.00")."""
    return f"{value:.2f}" if value >= 0.1 else f"{value:.2g}"


def best_target(outcomes: Sequence[Outcome]) -> str | None:
    """Our best DP synthesizer at ε=1 against smartnoise AIM (None: none of ours ran at ε=1).

    Best: one meeting the quality and utility bars first, then the highest SDMetrics quality.
    """
    ours = [o for o in outcomes if o.ok and o.run.method.ours and o.run.epsilon == 1.0]
    if not ours:
        return None
    best = max(ours, key=lambda o: (_meets_quality(o), o.quality or 0.0, o.tstr or 0.0))
    aim = _find(outcomes, "smartnoise-aim", 1.0)
    text = (
        f"- Our best DP synthesizer at ε=1 ({best.run.method.key}): SDMetrics "
        f"{_num(best.quality, '.3f')} (≥ {TARGET_QUALITY}), TSTR {_num(best.tstr, '.3f')} "
        f"(≥ {TARGET_TSTR}), fit {_num(best.fit_s, '.0f')} s"
    )
    if aim is None or aim.fit_s is None or best.fit_s is None:
        return text + " vs smartnoise AIM: no result (yet) — **not measurable**"
    ratio = best.fit_s / aim.fit_s
    ok = _meets_quality(best) and ratio <= AIM_FIT_RATIO
    return (
        f"{text} = {_ratio(ratio)}x smartnoise AIM's {aim.fit_s:.0f} s (≤ {AIM_FIT_RATIO}x) — "
        f"{_verdict(ok)}"
    )


def dpctgan_targets(outcomes: Sequence[Outcome]) -> list[str]:
    """Our dp-ctgan against smartnoise DP-CTGAN, one line per ε where ours ran."""
    out = []
    for ours in (o for o in outcomes if o.ok and o.run.method.key == "dp-ctgan"):
        eps = ours.run.epsilon
        assert eps is not None  # dp-ctgan runs are DP
        peer = _find(outcomes, "smartnoise-dpctgan", eps)
        text = (
            f"- Our dp-ctgan at ε={eps:g}: SDMetrics {_num(ours.quality, '.3f')} "
            f"(≥ {DPCTGAN_QUALITY}), fit {_num(ours.fit_s, '.0f')} s"
        )
        if peer is None or peer.fit_s is None or ours.fit_s is None:
            out.append(text + " vs smartnoise DP-CTGAN: no result (yet) — **not measurable**")
            continue
        ratio = ours.fit_s / peer.fit_s
        ok = ratio <= DPCTGAN_FIT_RATIO and (ours.quality or 0.0) >= DPCTGAN_QUALITY
        out.append(
            f"{text} = {_ratio(ratio)}x smartnoise DP-CTGAN's {peer.fit_s:.0f} s (≤ ⅓) — "
            f"{_verdict(ok)}"
        )
    return out


def targets(outcomes: Sequence[Outcome]) -> list[str]:
    """Every target line with its measured values and verdict."""
    best = best_target(outcomes)
    return ([best] if best else []) + dpctgan_targets(outcomes)
