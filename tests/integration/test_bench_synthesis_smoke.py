"""Keeps ``benchmarks/synthesis.py`` from rotting: its core on 1,000 Adult rows, one epoch.

Checks that every method yields a table row with finite numbers; speed is the benchmark's job.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from benchmarks import synthesis


@pytest.mark.slow
def test_core_measures_every_method_on_a_small_sample(tmp_path: Path) -> None:
    methods = [
        synthesis.Method("dp-ctgan ε=1", "dp-ctgan", 1.0),
        synthesis.Method("ctgan package (non-DP)", "ctgan", None),
    ]
    prepared, rows = synthesis.run(
        source=synthesis.ADULT,
        methods=methods,
        params={"epochs": 1, "batch_size": 100},
        threads=1,
        workdir=tmp_path,
        rows=1_000,
        isolated=False,
    )
    assert prepared.train_rows + prepared.holdout_rows == 1_000
    assert [r.method.label for r in rows] == [m.label for m in methods]
    for row in rows:
        numbers = [row.fit.fit_s, row.per_epoch_s, row.sample_rate, row.fit.peak_rss_mib]
        numbers += [row.scores[k] for k in ("fidelity", "utility_tstr_auc", "dcr_share", "mia_auc")]
        assert all(math.isfinite(x) and x >= 0 for x in numbers), row
        assert row.fit.sample_rows == prepared.train_rows
    private = rows[0].fit.epsilon_spent
    assert private is not None
    assert 0 < private <= 1.0
    assert rows[1].fit.epsilon_spent is None
    text = synthesis.table(rows)
    assert text.count("\n| dp-ctgan ε=1 |") == 1
    assert text.count("\n| ctgan package (non-DP) |") == 1
    assert synthesis.targets(rows)
