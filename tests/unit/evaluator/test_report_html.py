"""render_html(): one offline file with every section, and the right privacy box."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pandas as pd
import pytest

from sds_evaluator.domain import ColumnInfo, EvaluationReport, evaluate, render_html
from tests.unit.evaluator.tables import COLUMNS, population


@pytest.fixture(scope="module")
def report() -> EvaluationReport:
    return evaluate(
        real_train=population(800, seed=21, missing=True),
        real_holdout=population(400, seed=22, missing=True),
        synthetic=population(800, seed=23, missing=True),
        columns=COLUMNS,
        target="label",
        seed=0,
    )


def _dp(report: EvaluationReport) -> EvaluationReport:
    dp = evaluate(
        real_train=population(300, seed=21),
        real_holdout=population(200, seed=22),
        synthetic=population(300, seed=23),
        columns=COLUMNS,
        privacy={"epsilon": 3.0, "delta": 1e-5, "mechanism": "DP-SGD", "noise_multiplier": 1.1},
        seed=0,
    )
    return report.model_copy(update={"privacy_guarantee": dp.privacy_guarantee})


def test_html_is_self_contained(report: EvaluationReport) -> None:
    html = render_html(report, title="Test <report>")
    assert html.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html)
    assert "http" not in html
    assert "@import" not in html
    assert "<script" not in html
    assert "Test &lt;report&gt;" in html


def test_html_has_every_section(report: EvaluationReport) -> None:
    html = render_html(report, title="t")
    for section in (
        "headline",
        "privacy-guarantee",
        "fidelity",
        "utility",
        "privacy-risk",
        "methods",
    ):
        assert f'id="{section}"' in html
    assert html.count("<svg") == len(report.fidelity.distributions) + 3
    assert "Membership-inference attack AUC" in html
    assert "Attribute inference" in html


def test_svg_fragments_are_well_formed(report: EvaluationReport) -> None:
    html = render_html(report, title="t")
    for svg in re.findall(r"<svg.*?</svg>", html, flags=re.DOTALL):
        ET.fromstring(svg.replace("&nbsp;", " "))


def test_non_dp_generator_gets_the_banner(report: EvaluationReport) -> None:
    html = render_html(report, title="t")
    assert "NOT differentially private" in html
    assert 'class="box nodp"' in html


def test_dp_generator_gets_the_guarantee_box(report: EvaluationReport) -> None:
    html = render_html(_dp(report), title="t")
    assert "NOT differentially private" not in html
    assert "ε = 3" in html
    assert "δ = 1e-05" in html
    assert "DP-SGD" in html
    # A reported DP parameter is a row of the privacy section's table, not a loose detail.
    assert '<td class="num">1.1</td>' in html
    assert "Noise multiplier" in html


def test_skipped_sections_render() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0]})
    report = evaluate(
        real_train=frame,
        real_holdout=frame.iloc[:0],
        synthetic=frame,
        columns=[ColumnInfo(name="x", kind="numeric")],
    )
    html = render_html(report, title="tiny")
    assert "No target declared" in html
    assert report.privacy_risk.status == "skipped"
    targeted = evaluate(
        real_train=frame,
        real_holdout=frame.iloc[:0],
        synthetic=frame,
        columns=[ColumnInfo(name="x", kind="numeric")],
        target="x",
    )
    assert targeted.utility.status == "skipped"
    assert "Skipped." in render_html(targeted, title="tiny")
