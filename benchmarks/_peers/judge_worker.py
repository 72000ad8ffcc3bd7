"""The outside judge: SDMetrics' QualityReport, run in its own venv (``.bench/venvs/judge``).

``python -m benchmarks._peers.judge_worker SPEC.json`` with a spec ``{"real_csv",
"synthetic_csv", "columns", "out_json"}``; it scores the synthetic table against the real table it
is given (numeric columns as ``numerical``, datetimes as ``datetime``, booleans as ``boolean``, the
rest as ``categorical``) and writes the overall
score, its two properties (Column Shapes, Column Pair Trends) and the seconds it took.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from benchmarks._peers.protocol import limit_threads, load_table, package_versions, stopwatch

SDTYPES = {"numeric": "numerical", "boolean": "boolean", "datetime": "datetime"}


def metadata(columns: list[dict[str, Any]]) -> dict[str, Any]:
    """SDMetrics' single-table metadata for our column kinds."""
    return {
        "columns": {c["name"]: {"sdtype": SDTYPES.get(c["kind"], "categorical")} for c in columns}
    }


def judge(spec: dict[str, Any]) -> dict[str, Any]:
    """QualityReport of ``spec["synthetic_csv"]`` against ``spec["real_csv"]``."""
    from sdmetrics.reports.single_table import (  # type: ignore[import-not-found, unused-ignore]  # noqa: PLC0415
        QualityReport,
    )

    columns = spec["columns"]
    real = load_table(spec["real_csv"], columns)
    synthetic = load_table(spec["synthetic_csv"], columns)
    report = QualityReport()
    with stopwatch() as seconds:
        report.generate(real, synthetic, metadata(columns), verbose=False)
    properties = report.get_properties()
    scores = dict(zip(properties["Property"], properties["Score"], strict=True))
    return {
        "quality": float(report.get_score()),
        "column_shapes": float(scores["Column Shapes"]),
        "column_pair_trends": float(scores["Column Pair Trends"]),
        "seconds": seconds[0],
        "versions": package_versions("sdmetrics", "pandas"),
    }


def main(argv: list[str] | None = None) -> None:
    """Entry point: read the spec, judge, write ``out_json``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        raise SystemExit("usage: python -m benchmarks._peers.judge_worker SPEC.json")
    spec = json.loads(Path(args[0]).read_text())
    limit_threads(int(spec.get("threads", 1)))
    Path(spec["out_json"]).write_text(json.dumps(judge(spec), indent=1))


if __name__ == "__main__":
    main()
