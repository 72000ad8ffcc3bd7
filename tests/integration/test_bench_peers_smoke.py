"""Keeps ``benchmarks/peers.py`` from rotting: ``--quick`` on our own synthesizers only.

No peer venv is built here (``--methods ours --no-judge``): every DP synthesizer of the registry
fits the quick sample at ε=1 in its worker subprocess (with the declared public metadata, and the
cheap ones once more without), is scored by our evaluator, and the section written to a
temporary results file must hold one row per run with numbers.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from benchmarks import peers
from benchmarks._peers.catalogue import NO_METADATA_TOO
from sds_trainer.domain.synthesizers.registry import SYNTHESIZERS

#: Columns of the table that must hold a number for each of our rows: ε, ε reported, fit
#: seconds, fidelity, TSTR, TRTR, DCR share and attack AUC (SDMetrics is off: no judge venv).
NUMERIC = (1, 2, 3, 5, 6, 7, 8, 9)


@pytest.mark.slow
def test_quick_run_of_our_synthesizers_writes_a_row_each(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark results\n\n## Other (make other)\n\nkept\n")
    peers.main(
        ["--quick", "--methods", "ours", "--epsilons", "1", "--no-judge", "--results", str(results)]
    )
    text = results.read_text()
    assert "## Other (make other)\n\nkept\n" in text
    section = text.split(f"## {peers.SECTION}\n", 1)[1]
    rows = [line for line in section.splitlines() if line.startswith("| ours: ")]
    private = sorted(n for n, cls in SYNTHESIZERS.items() if cls.differentially_private)
    # Each with the declared public metadata, and aim and mst once more without it.
    expected = sorted([*private, *(f"{n}, no metadata" for n in NO_METADATA_TOO)])
    assert sorted(row.split(" | ")[0].removeprefix("| ours: ") for row in rows) == expected
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert cells[-1] == "ok", row
        numbers = [float(cells[i]) for i in NUMERIC]
        assert all(math.isfinite(x) and x >= 0 for x in numbers), row
        assert numbers[0] == 1.0
        assert 0 < numbers[1] <= 1.0 + 1e-9  # ε reported never above the target
        assert cells[4] == "—"  # SDMetrics not run
    assert "`--quick`" in section
    assert "Our best DP synthesizer at ε=1" in section
