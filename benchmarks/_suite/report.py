"""The suite's section of RESULTS.md: the table, per-column validity, and a verdict per target.

Targets (issue #17, "Targets"), all from the same run:

1. ε = 1, defaults (nothing declared), every table: validity (≥ 99 % of every numeric column in
   the real range, no categorical cell missing that was not, representation preserved) — read
   from the evaluator's validity report (its flags are exactly those checks);
2. ε = 1, defaults: SDMetrics ≥ the independent-columns baseline + 0.02 and TSTR ≥ the baseline's;
3. reviewed schema: SDMetrics and TSTR ≥ every peer's in the same run, every table;
4. reviewed schema: SDMetrics within 0.04 of the real-holdout ceiling where ≥ 5,000 training rows;
5. reviewed schema: median TSTR/TRTR ≥ 0.95;
6. defaults: fit time ≤ ¼ of the fastest DP peer's, every table.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence

from benchmarks._suite.measure import Measured

BASELINE_MARGIN = 0.02
CEILING_GAP = 0.04
CEILING_MIN_ROWS = 5_000
UTILITY_RATIO = 0.95
FIT_RATIO = 0.25
DEFAULT = "ours: default"
REVIEWED = "ours: reviewed schema"
BASELINE = "independent columns (baseline, non-DP)"
CEILING = "real test rows (ceiling)"
PEER_PREFIXES = ("smartnoise", "mostlyai")


def _num(value: float | None, fmt: str = ".3f") -> str:
    return "—" if value is None or not math.isfinite(value) else format(value, fmt)


def _status(row: Measured) -> str:
    if row.capped:
        return f"capped: {row.failure}"
    return "ok" if row.ok else str(row.failure)


def table(rows: Sequence[Measured]) -> str:
    """One line per measurement."""
    head = (
        "| Table | Method | ε | Fit s | Peak RSS MiB | SDMetrics | Shapes | Pairs | Validity "
        "| Flagged columns | TSTR | TRTR | Load before → after | Status |\n"
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---|---|\n"
    )
    lines = []
    for r in rows:
        res, q, v = r.result, r.quality, r.validity
        flagged = "—" if v is None else (", ".join(v.flagged_columns) or "none")
        loads = f"{r.loads[0]} → {r.loads[1]}" if r.loads[0] else "—"
        lines.append(
            f"| {r.table} | {r.label} | {_num(r.epsilon, 'g')} "
            f"| {_num(None if res is None else res.fit_s, '.1f')} "
            f"| {_num(None if res is None else res.peak_rss_mib, ',.0f')} "
            f"| {_num(q.get('quality'))} | {_num(q.get('column_shapes'))} "
            f"| {_num(q.get('column_pair_trends'))} | {_num(None if v is None else v.score)} "
            f"| {flagged} | {_num(r.tstr)} | {_num(r.trtr)} | {loads} | {_status(r)} |"
        )
    return head + "\n".join(lines)


def _pick(rows: Sequence[Measured], table: str, label: str, eps: float | None) -> Measured | None:
    return next(
        (r for r in rows if r.ok and r.table == table and r.label == label and r.epsilon == eps),
        None,
    )


def _peers(rows: Sequence[Measured], table: str, eps: float) -> list[Measured]:
    return [
        r
        for r in rows
        if r.table == table and r.epsilon == eps and r.label.startswith(PEER_PREFIXES)
    ]


def _verdict(misses: list[str], measured: int, tables: int) -> str:
    if measured == 0:
        return "**not measured** in this run"
    if misses:
        return f"**missed** on {len(misses)} of {measured}: " + "; ".join(misses)
    scope = "" if measured == tables else f" (measured on {measured} of {tables} tables)"
    return f"**met**{scope}"


def _each(
    tables: Sequence[str], check: Callable[[str], str | bool | None]
) -> tuple[list[str], int]:
    """Run ``check`` per table: None = not measurable, True = met, text = how it missed."""
    misses, measured = [], 0
    for name in tables:
        outcome = check(name)
        if outcome is None:
            continue
        measured += 1
        if outcome is not True:
            misses.append(f"{name} ({outcome})")
    return misses, measured


def verdicts(rows: Sequence[Measured], *, epsilon: float = 1.0) -> list[str]:
    """One line per target with its verdict, measured values where missed."""
    tables = list(dict.fromkeys(r.table for r in rows))

    def valid(name: str) -> str | bool | None:
        row = _pick(rows, name, DEFAULT, epsilon)
        if row is None or row.validity is None:
            return None
        bad = row.validity.flagged_columns
        return True if not bad else f"validity {_num(row.validity.score)}; flagged {', '.join(bad)}"

    def above_baseline(name: str) -> str | bool | None:
        row, base = _pick(rows, name, DEFAULT, epsilon), _pick(rows, name, BASELINE, None)
        if row is None or base is None or "quality" not in row.quality:
            return None
        gap = row.quality["quality"] - base.quality["quality"]
        tstr_ok = (row.tstr or -math.inf) >= (base.tstr or -math.inf)
        if gap >= BASELINE_MARGIN and tstr_ok:
            return True
        return f"SDMetrics {gap:+.3f} vs baseline, TSTR {_num(row.tstr)} vs {_num(base.tstr)}"

    def beats_peers(name: str) -> str | bool | None:
        row = _pick(rows, name, REVIEWED, epsilon)
        peers = [p for p in _peers(rows, name, epsilon) if p.ok]
        if row is None or not peers or "quality" not in row.quality:
            return None
        worse = [
            f"{p.label} {_num(p.quality.get('quality'))}/{_num(p.tstr)}"
            for p in peers
            if p.quality.get("quality", -1.0) > row.quality["quality"]
            or (p.tstr or -math.inf) > (row.tstr or -math.inf)
        ]
        ours = f"ours {_num(row.quality['quality'])}/{_num(row.tstr)}"
        return True if not worse else f"{ours} vs " + ", ".join(worse)

    def near_ceiling(name: str) -> str | bool | None:
        row, top = _pick(rows, name, REVIEWED, epsilon), _pick(rows, name, CEILING, None)
        if row is None or top is None or "quality" not in row.quality or not top.quality:
            return None
        if row.result is not None and row.result.rows < CEILING_MIN_ROWS:
            return None
        gap = top.quality["quality"] - row.quality["quality"]
        return True if gap <= CEILING_GAP else f"{gap:.3f} below the ceiling"

    def fast(name: str) -> str | bool | None:
        row = _pick(rows, name, DEFAULT, epsilon)
        times = [
            p.result.fit_s for p in _peers(rows, name, epsilon) if p.ok and p.result is not None
        ]
        times += [600.0 for p in _peers(rows, name, epsilon) if p.capped]
        if row is None or row.result is None or not times:
            return None
        ratio = row.result.fit_s / min(times)
        return True if ratio <= FIT_RATIO else f"{ratio:.2f}x the fastest peer"

    lines = []
    targets = [
        ("Validity at ε=1 with defaults, every table", valid),
        (
            f"SDMetrics ≥ baseline + {BASELINE_MARGIN} and TSTR ≥ baseline's, defaults at ε=1",
            above_baseline,
        ),
        ("Reviewed schema: SDMetrics and TSTR ≥ every peer's, every table", beats_peers),
        (
            f"Reviewed schema: SDMetrics within {CEILING_GAP} of the ceiling "
            f"(≥ {CEILING_MIN_ROWS:,} training rows)",
            near_ceiling,
        ),
        (f"Fit of the default ≤ {FIT_RATIO} x the fastest DP peer's, every table", fast),
    ]
    for text, check in targets:
        misses, measured = _each(tables, check)
        lines.append(f"- {text}: {_verdict(misses, measured, len(tables))}")
    lines.append(f"- {_median_utility(rows, epsilon)}")
    return lines


def _median_utility(rows: Sequence[Measured], epsilon: float) -> str:
    ratios = [
        r.tstr / r.trtr
        for r in rows
        if r.ok and r.label == REVIEWED and r.epsilon == epsilon and r.tstr and r.trtr
    ]
    text = f"Reviewed schema: median TSTR/TRTR ≥ {UTILITY_RATIO} at ε={epsilon:g}"
    if not ratios:
        return f"{text}: **not measured** in this run"
    median = statistics.median(ratios)
    verdict = "**met**" if median >= UTILITY_RATIO else "**missed**"
    return f"{text}: {median:.3f} over {len(ratios)} table(s) — {verdict}"
