"""Keeps ``benchmarks/audit.py`` from rotting: its ``--quick`` run on real Kafka and PostgreSQL.

Counts and outcomes only (every event in the log exactly once, the chains verify); speed is the
benchmark's job.
"""

from __future__ import annotations

import pytest

from benchmarks import audit


@pytest.mark.kafka
async def test_quick_run_ingests_every_event_once_and_verifies(
    kafka_bootstrap: str, postgres_dsn: str
) -> None:
    args = audit.parse_args(["--quick", "--no-write"])
    results = await audit.run(args, kafka=kafka_bootstrap, postgres=postgres_dsn)
    ingest = results.ingest
    assert ingest.events == audit.QUICK_EVENTS
    assert ingest.records == ingest.distinct_event_ids == ingest.events
    assert ingest.verified, ingest.verify_detail
    assert ingest.commits >= 1
    assert ingest.first_commit_ns <= ingest.last_commit_ns
    assert [run.database for run in results.verifications] == ["PostgreSQL", "SQLite"]
    for run in results.verifications:
        assert run.ok
        assert run.records_checked == run.records == audit.QUICK_VERIFY_RECORDS
        assert run.checkpoints_checked == audit.QUICK_VERIFY_RECORDS // 1000
    section = audit.report(results)
    assert section.count("| PostgreSQL |") == section.count("| SQLite |") == 1
    assert "not measured at 1M" in section  # a quick run never claims the 1M target


def test_the_command_line_sizes() -> None:
    quick = audit.parse_args(["--quick"])
    assert (quick.events, quick.verify_records) == (audit.QUICK_EVENTS, audit.QUICK_VERIFY_RECORDS)
    full = audit.parse_args(["--events", "10", "--no-sqlite", "--no-write"])
    assert (full.events, full.verify_records, full.no_sqlite) == (10, audit.VERIFY_RECORDS, True)
    with pytest.raises(SystemExit):
        audit.parse_args(["--events", "0"])
