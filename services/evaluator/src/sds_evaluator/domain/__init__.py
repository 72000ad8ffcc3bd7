"""Pure evaluation logic: validity, fidelity, ML utility and empirical privacy-risk metrics.

``evaluate`` turns (real training rows, real holdout rows, synthetic rows, schema, formats) into an
``EvaluationReport``; ``render_html`` turns that report into one self-contained HTML page.
``validity.column_validity`` and ``baseline.independent_baseline`` stand on their own (the
benchmark suite imports them).
"""

from sds_evaluator.domain.evaluate import HEADLINE_KEYS, evaluate, headline_scores
from sds_evaluator.domain.models import ColumnInfo, EvaluationConfig, EvaluationReport
from sds_evaluator.domain.report_html import render_html

__all__ = [
    "HEADLINE_KEYS",
    "ColumnInfo",
    "EvaluationConfig",
    "EvaluationReport",
    "evaluate",
    "headline_scores",
    "render_html",
]
