"""One self-contained HTML file from an ``EvaluationReport``: inline CSS and SVG, no URLs.

The file must open offline and in a mail attachment, so nothing is fetched: no fonts, scripts,
stylesheets or images from elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from sds_evaluator.domain.models import EvaluationReport, Metric
from sds_evaluator.domain.svg import bar_chart, heatmap

Rating = str  # "good" | "fair" | "poor" | "none": the colour of a headline card


@dataclass(frozen=True)
class Card:
    label: str
    value: str
    rating: Rating
    hint: str


def _rate_higher(value: float, good: float, fair: float) -> Rating:
    return "good" if value >= good else "fair" if value >= fair else "poor"


def _rate_lower(value: float, good: float, fair: float) -> Rating:
    return "good" if value <= good else "fair" if value <= fair else "poor"


# Thresholds only colour the cards; the numbers and their meanings are what the report states.
_CARDS: tuple[tuple[str, str, str], ...] = (
    ("validity", "Validity", "worst column; 1 = only values a real column could hold"),
    ("fidelity", "Fidelity", "1 = indistinguishable by these checks"),
    ("utility_ratio", "ML utility ratio", "synthetic-trained vs real-trained model"),
    ("dcr_share", "Closer-to-training share", "about 0.5 = no memorisation signal"),
    ("mia_auc", "Membership attack AUC", "0.5 = attacker no better than chance"),
    ("mia_epsilon_lower_bound", "Empirical ε lower bound", "0 = no leakage proven"),
    ("exact_copies", "Exact copies", "synthetic rows equal to a training row"),
)


_COUNTS = frozenset({"exact_copies", "validity_flagged_columns"})
_ORDER: tuple[Rating, ...] = ("poor", "fair", "good")


def _worse(a: Rating, b: Rating) -> Rating:
    if "none" in (a, b):
        return a if b == "none" else b
    return min(a, b, key=_ORDER.index)


#: key -> (rating function, its value for "good", for "fair"); "centred" rates |value - 0.5|.
_THRESHOLDS: dict[str, tuple[str, float, float]] = {
    "validity": ("higher", 0.99, 0.95),
    "fidelity": ("higher", 0.9, 0.75),
    "utility_ratio": ("higher", 0.9, 0.75),
    "dcr_share": ("centred", 0.05, 0.1),
    "mia_auc": ("centred", 0.05, 0.1),
    "mia_epsilon_lower_bound": ("lower", 0.0, 1.0),
}


def _rating(key: str, value: float) -> Rating:
    way, good, fair = _THRESHOLDS.get(key, ("lower", 0.0, 10.0))
    if way == "higher":
        return _rate_higher(value, good, fair)
    if way == "centred":
        return _rate_lower(abs(value - 0.5), good, fair)
    return _rate_lower(value, good, fair)


def _judged(report: EvaluationReport, key: str, rating: Rating) -> tuple[Rating, str]:
    """A card's rating and hint after what the scores around it say.

    Fidelity is never rated better than validity (equal weight: a broken column must not hide
    behind an average), and a score at or below the independent-columns baseline, or a TSTR at
    chance, is poor: the model added nothing.
    """
    scores = report.scores
    notes: list[str] = []
    if key == "fidelity":
        validity = scores.get("validity")
        if validity is not None:
            rating = _worse(rating, _rating("validity", validity))
        flagged = int(scores.get("validity_flagged_columns", 0))
        if flagged:
            notes.append(f"{flagged} column{'s' if flagged != 1 else ''} flagged invalid")
    base = scores.get(f"baseline_{key}")
    value = scores.get(key)
    if base is not None and value is not None:
        notes.append(f"baseline {base:.3f}")
        if value <= base:
            rating = "poor"
    if key == "utility_ratio" and _tstr_at_chance(report):
        rating = "poor"
        notes.append("TSTR at chance")
    return rating, " · ".join(notes)


def _tstr_at_chance(report: EvaluationReport) -> bool:
    return any(
        m.key.startswith("utility_tstr_") and m.note is not None and "chance" in m.note.lower()
        for m in report.utility.metrics
    )


def _cards(report: EvaluationReport) -> list[Card]:
    cards = []
    for key, label, hint in _CARDS:
        value = report.scores.get(key)
        if value is None:
            cards.append(Card(label, "n/a", "none", hint))
            continue
        text = f"{value:,.0f}" if key in _COUNTS else f"{value:.3f}"
        rating, extra = _judged(report, key, _rating(key, value))
        cards.append(Card(label, text, rating, f"{hint} · {extra}" if extra else hint))
    return cards


def format_value(metric: Metric) -> str:
    """A metric's value as the report prints it."""
    if metric.value is None:
        return "n/a"
    if metric.key in _COUNTS:
        return f"{metric.value:,.0f}"
    return f"{metric.value:.3f}"


def baseline_value(metric: Metric) -> str:
    """The baseline's value of a metric, or a dash where it has none."""
    return "—" if metric.baseline is None else f"{metric.baseline:.3f}"


def model_adds(metric: Metric) -> str:
    """``value - baseline``, signed: what the model adds over independent columns."""
    if metric.value is None or metric.baseline is None:
        return "—"
    return f"{metric.value - metric.baseline:+.3f}"


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _share3(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def direction_text(metric: Metric) -> str:
    """ "higher is better", "lower is better" or "closest to X is best"."""
    if metric.direction == "target":
        return f"closest to {metric.target:g} is best"
    return f"{metric.direction} is better"


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("sds_evaluator.domain", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["value"] = format_value
    env.filters["direction"] = direction_text
    env.filters["baseline"] = baseline_value
    env.filters["adds"] = model_adds
    env.filters["pct"] = _percent
    env.filters["share3"] = _share3
    return env


def render_html(report: EvaluationReport, *, title: str = "Synthetic data evaluation") -> str:
    """Render the report as one self-contained HTML page.

    Args:
        report: the evaluation to show.
        title: the page title and heading.

    Returns:
        The HTML document as text.
    """
    plots = [
        {
            "dist": dist,
            "svg": Markup(bar_chart(dist.labels, dist.real, dist.synthetic)),  # noqa: S704
        }
        for dist in report.fidelity.distributions
    ]
    heatmaps = []
    assoc = report.fidelity.associations
    if assoc is not None:
        diff = [
            [None if r is None or s is None else abs(r - s) for r, s in zip(rr, sr, strict=True)]
            for rr, sr in zip(assoc.real, assoc.synthetic, strict=True)
        ]
        heatmaps = [
            ("Real", Markup(heatmap(assoc.columns, assoc.real))),  # noqa: S704
            ("Synthetic", Markup(heatmap(assoc.columns, assoc.synthetic))),  # noqa: S704
            (
                "Difference |real - synthetic|",
                Markup(heatmap(assoc.columns, diff, colour=(200, 40, 40))),  # noqa: S704
            ),
        ]
    template = _environment().get_template("report.html.j2")
    return template.render(
        title=title,
        report=report,
        cards=_cards(report),
        plots=plots,
        heatmaps=heatmaps,
    )
