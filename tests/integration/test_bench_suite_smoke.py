"""Keeps ``benchmarks/suite.py`` from rotting: ``--quick`` without any venv of peers or judge.

Three small real tables at ε = 1: ours with defaults and with the reviewed schema's
declarations, each fitted in its worker subprocess, plus the independent-columns baseline; every
one scored for validity (per column) and TSTR/TRTR by the evaluator. The section written to a
temporary results file must hold those rows with numbers and a verdict line per target.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from benchmarks import suite
from benchmarks._suite import report
from benchmarks._suite.tables import QUICK

#: Columns that must hold a number: fit s, peak RSS (ours only), validity, TSTR, TRTR.
FIT, RSS, VALIDITY, TSTR, TRTR = 3, 4, 8, 10, 11


def _cells(row: str) -> list[str]:
    return [cell.strip() for cell in row.strip().strip("|").split("|")]


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_quick_suite_writes_a_scored_row_per_table_and_method(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark results\n\n## Other (make other)\n\nkept\n")
    suite.main(["--quick", "--no-judge", "--results", str(results)])
    text = results.read_text()
    assert "## Other (make other)\n\nkept\n" in text
    section = text.split(f"## {suite.SECTION}\n", 1)[1]
    assert "`--quick`" in section
    rows = [
        _cells(line)
        for line in section.splitlines()
        if line.startswith("| ") and "|---" not in line
    ]
    by = {(r[0], r[1]): r for r in rows if r[0] in QUICK}
    for table in QUICK:
        for label in (report.DEFAULT, report.REVIEWED, report.BASELINE):
            cells = by[(table, label)]
            assert cells[-1] == "ok", cells
            wanted = (FIT, VALIDITY, TSTR, TRTR) + ((RSS,) if label != report.BASELINE else ())
            numbers = [float(cells[i].replace(",", "")) for i in wanted]
            assert all(math.isfinite(x) for x in numbers), cells
            assert 0.0 <= float(cells[VALIDITY]) <= 1.0
        assert by[(table, report.DEFAULT)][2] == "1"
    # One verdict line per target, each saying met, missed or not measured.
    verdicts = [line for line in section.splitlines() if line.startswith("- ") and "**" in line]
    assert len(verdicts) >= 6
    assert "Validity, per column" in section
