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
    ("fidelity", "Fidelity", "1 = indistinguishable by these checks"),
    ("utility_ratio", "ML utility ratio", "synthetic-trained vs real-trained model"),
    ("dcr_share", "Closer-to-training share", "about 0.5 = no memorisation signal"),
    ("mia_auc", "Membership attack AUC", "0.5 = attacker no better than chance"),
    ("mia_epsilon_lower_bound", "Empirical ε lower bound", "0 = no leakage proven"),
    ("exact_copies", "Exact copies", "synthetic rows equal to a training row"),
)


def _rating(key: str, value: float) -> Rating:
    if key == "fidelity":
        return _rate_higher(value, 0.9, 0.75)
    if key == "utility_ratio":
        return _rate_higher(value, 0.9, 0.75)
    if key == "dcr_share":
        return _rate_lower(abs(value - 0.5), 0.05, 0.1)
    if key == "mia_auc":
        return _rate_lower(abs(value - 0.5), 0.05, 0.1)
    if key == "mia_epsilon_lower_bound":
        return _rate_lower(value, 0.0, 1.0)
    return _rate_lower(value, 0.0, 10.0)


def _cards(report: EvaluationReport) -> list[Card]:
    cards = []
    for key, label, hint in _CARDS:
        value = report.scores.get(key)
        if value is None:
            cards.append(Card(label, "n/a", "none", hint))
            continue
        text = f"{value:,.0f}" if key == "exact_copies" else f"{value:.3f}"
        cards.append(Card(label, text, _rating(key, value), hint))
    return cards


def format_value(metric: Metric) -> str:
    """A metric's value as the report prints it."""
    if metric.value is None:
        return "n/a"
    if metric.key == "exact_copies":
        return f"{metric.value:,.0f}"
    return f"{metric.value:.3f}"


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
