"""Inline SVG charts for the HTML report: real-vs-synthetic bars and association heatmaps.

Hand-written SVG instead of matplotlib keeps the report small, sharp at any zoom, free of
external resources, and fast: Adult's 15 plots and 3 heatmaps render in milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

REAL_COLOUR = "#1f5fa8"
SYNTH_COLOUR = "#f08c2e"
_FONT = 'font-family="system-ui, sans-serif"'


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def bar_chart(
    labels: Sequence[str],
    real: Sequence[float],
    synthetic: Sequence[float],
    *,
    width: int = 380,
    height: int = 200,
) -> str:
    """Side-by-side bars of real and synthetic shares per bin or category.

    Args:
        labels: one per bar group.
        real: shares of real rows.
        synthetic: shares of synthetic rows.
        width: SVG width in pixels.
        height: SVG height in pixels.

    Returns:
        An ``<svg>`` element as text (labels escaped).
    """
    left, bottom, top = 34, 56, 8
    plot_w, plot_h = width - left - 6, height - bottom - top
    n = max(len(labels), 1)
    peak = max([*real, *synthetic, 1e-9])
    group = plot_w / n
    bar = max(group * 0.4, 0.5)
    parts = [
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 6}" y2="{top + plot_h}" '
        'stroke="#999"/>',
        f'<text x="{left - 4}" y="{top + 8}" text-anchor="end" font-size="9" {_FONT}>'
        f"{peak:.0%}</text>",
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" font-size="9" {_FONT}>0</text>',
    ]
    step = max(1, n // 10)
    for i, label in enumerate(labels):
        x = left + i * group + group * 0.1
        for offset, values, colour in ((0.0, real, REAL_COLOUR), (bar, synthetic, SYNTH_COLOUR)):
            h = plot_h * values[i] / peak
            parts.append(
                f'<rect x="{x + offset:.1f}" y="{top + plot_h - h:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{colour}"><title>{escape(label)}: '
                f"{values[i]:.1%}</title></rect>"
            )
        if i % step == 0 or i == n - 1:
            tx, ty = x + bar, top + plot_h + 6
            parts.append(
                f'<text x="{tx:.1f}" y="{ty}" font-size="9" {_FONT} text-anchor="end" '
                f'transform="rotate(-40 {tx:.1f} {ty})">{escape(_short(label, 14))}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _blend(value: float, colour: tuple[int, int, int]) -> str:
    v = min(max(value, 0.0), 1.0)
    r, g, b = (round(255 + (c - 255) * v) for c in colour)
    return f"#{r:02x}{g:02x}{b:02x}"


def heatmap(
    columns: Sequence[str],
    matrix: Sequence[Sequence[float | None]],
    *,
    colour: tuple[int, int, int] = (31, 95, 168),
    cell: int = 18,
) -> str:
    """A square heatmap of values in [0, 1]; None cells (pairs not scored) are hatched grey.

    Args:
        columns: row and column names.
        matrix: values per cell.
        colour: the RGB colour of value 1 (value 0 is white).
        cell: cell size in pixels.

    Returns:
        An ``<svg>`` element as text.
    """
    n = len(columns)
    margin = 96
    size = margin + n * cell + 4
    parts = [f'<svg width="{size}" height="{size}" viewBox="0 0 {size} {size}" role="img">']
    for i, name in enumerate(columns):
        label = escape(_short(name, 15))
        y = margin + i * cell + cell * 0.7
        parts.append(
            f'<text x="{margin - 4}" y="{y:.1f}" font-size="10" text-anchor="end" {_FONT}>'
            f"{label}</text>"
        )
        x = margin + i * cell + cell * 0.7
        parts.append(
            f'<text x="{x:.1f}" y="{margin - 4}" font-size="10" {_FONT} '
            f'transform="rotate(-60 {x:.1f} {margin - 4})">{label}</text>'
        )
        for j in range(n):
            value = matrix[i][j]
            fill = "#e4e4e4" if value is None else _blend(value, colour)
            text = "not scored" if value is None else f"{value:.2f}"
            parts.append(
                f'<rect x="{margin + j * cell}" y="{margin + i * cell}" width="{cell}" '
                f'height="{cell}" fill="{fill}" stroke="#fff"><title>{escape(name)} / '
                f"{escape(columns[j])}: {text}</title></rect>"
            )
    parts.append("</svg>")
    return "".join(parts)
