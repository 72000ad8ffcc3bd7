"""Keeps ``benchmarks/gateway.py`` from rotting: ``--quick`` on the embedded stack.

A real ``sds up`` process, seeded through the API, loaded by the separate load-generator process
on both routes; the section goes to a temporary results file. Counts and shape only (every
answer has the expected status, the table has one row per route, the target line is computed);
speed is the benchmark's job.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from benchmarks import gateway

pytestmark = pytest.mark.slow


def test_quick_embedded_run_writes_its_table(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark results\n\n## Other (make other)\n\nkept\n")

    gateway.main(
        ["--quick", "--stacks", "embedded", "--concurrency", "4", "--results", str(results)]
    )

    text = results.read_text()
    assert "## Other (make other)\n\nkept" in text
    section = text.split(f"## {gateway.SECTION}\n", 1)[1]
    row = re.compile(
        r"^\| embedded \| `([^`]+)` \| 4 \| ([\d,]+) \| [\d.]+ ms \| [\d.]+ ms \| (\d+) "
        r"\| ([\d.]+) ms \([\d.]+ cores\) \| [\d.]+ ms \([\d.]+ cores\) \|$",
        re.MULTILINE,
    )
    rows = row.findall(section)
    assert [found[0] for found in rows] == [route.label for route in gateway.ROUTES]
    for _route, per_second, errors, gateway_cpu_ms in rows:
        assert int(per_second.replace(",", "")) > 0
        assert errors == "0"
        assert float(gateway_cpu_ms) > 0  # the server's CPU was measured
    assert re.search(
        r"Target: \*\*≥ 1,000 authenticated GET/s .*\*\*: \*\*(met|missed)\*\*", section
    )
