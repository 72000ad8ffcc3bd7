"""The main job's printed summary shows validity and the baseline beside fidelity."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from rich.console import Console

from sds_studio.client import StudioClient
from sds_studio.main_job import MainJob, MainJobOptions


def test_summary_prints_validity_and_the_baseline_beside_fidelity(tmp_path: Path) -> None:
    console = Console(record=True, width=160)
    job = MainJob(
        cast(StudioClient, None),
        console=console,
        options=MainJobOptions(
            data=tmp_path, target="income", epsilon=1.0, epochs=None, out=tmp_path
        ),
    )
    result: dict[str, Any] = {
        "generator": {"epsilon": 1.0, "delta": 1e-6},
        "evaluation": {"scores": {"validity": 0.0, "fidelity": 0.85, "baseline_fidelity": 0.86}},
        "files": {"csv": "s.csv", "report": "r.html"},
    }
    job._summary(result, seconds=1.0)
    text = console.export_text()
    rows = [line for line in text.splitlines() if "0.000" in line or "0.8" in line]
    assert "validity" in rows[0]
    assert "0.000" in rows[0]
    # The baseline's value stands beside ours, on the same row: what the model adds.
    assert "fidelity" in rows[1]
    assert "0.850" in rows[1]
    assert "0.860" in rows[1]
    assert "independent columns" in text
    # It ends with what to try next on one's own data.
    assert "Next, on your own data" in text
    assert "sds upload YOUR_TABLE.csv" in text
