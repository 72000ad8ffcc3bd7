"""Audit benchmark (`make bench-audit`): ingest from real Kafka, and verifying a million records.

Two measurements:

* ingest (``benchmarks/_audit_ingest.py``): a producer process publishes ``--events`` realistic
  events (whole generator lives, every topic of the catalogue) to a fresh topic set on real
  Kafka; the audit service, assembled by its real bootstrap in its own process (consumer group,
  batch subscription, hash chain, signed checkpoints, PostgreSQL schema migrated by Alembic),
  appends them. Records/s are counted from its first commit to its last; afterwards every event
  must be in the log exactly once and the chain must verify.
* verification (``benchmarks/_audit_verify.py``): ``--verify-records`` records, built by the
  real chain code and loaded directly (``COPY``), verified by ``verify_log`` (the code behind
  ``GET /api/v1/audit/verify``) on PostgreSQL, and on SQLite (the embedded runtime's database)
  unless ``--no-sqlite``.

Targets (issue #5): ≥ 5,000 records/s ingested; verify of 1,000,000 records under 30 s. The
results replace the ``## Audit (make bench-audit)`` section of ``benchmarks/RESULTS.md`` unless
``--no-write``; ``--quick`` runs tiny sizes (the smoke test's mode).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(ROOT))

from benchmarks._audit_ingest import Ingest, measure_ingest  # noqa: E402
from benchmarks._audit_verify import VerifyRun, measure_postgres, measure_sqlite  # noqa: E402
from benchmarks._results import machine_facts, write_section  # noqa: E402
from sds_common.runtime.process import tune_gc  # noqa: E402

SECTION = "Audit (make bench-audit)"
EVENTS = 60_000
VERIFY_RECORDS = 1_000_000
QUICK_EVENTS = 1_200
QUICK_VERIFY_RECORDS = 3_000
TARGET_INGEST = 5_000.0
TARGET_VERIFY_SECONDS = 30.0
TARGET_VERIFY_RECORDS = 1_000_000


@dataclass(frozen=True)
class Results:
    """One run: the ingest and the verifications, with the machine they ran on."""

    ingest: Ingest
    verifications: tuple[VerifyRun, ...]
    facts: str
    versions: str


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=None, help=f"ingested (default {EVENTS:,})")
    parser.add_argument(
        "--verify-records",
        type=int,
        default=None,
        help=f"records in the verified chain (default {VERIFY_RECORDS:,})",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_EVENTS} events, {QUICK_VERIFY_RECORDS:,} records: checks that it runs",
    )
    parser.add_argument("--no-sqlite", action="store_true", help="verify on PostgreSQL only")
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    args = parser.parse_args(argv)
    if args.events is None:
        args.events = QUICK_EVENTS if args.quick else EVENTS
    if args.verify_records is None:
        args.verify_records = QUICK_VERIFY_RECORDS if args.quick else VERIFY_RECORDS
    if args.events < 1 or args.verify_records < 1:
        parser.error("--events and --verify-records must be positive")
    return args


async def run(args: argparse.Namespace, *, kafka: str, postgres: str) -> Results:
    """Measure ingest, then verification; print progress as it goes."""
    url = postgres.replace("postgresql://", "postgresql+asyncpg://", 1)
    load_before = _load()
    print(f"ingest: {args.events:,} events through Kafka ...", flush=True)
    ingest = await measure_ingest(kafka=kafka, postgres_url=url, events=args.events)
    print(f"  {ingest.per_second:,.0f} records/s", flush=True)
    runs = []
    print(f"verify: {args.verify_records:,} records on PostgreSQL ...", flush=True)
    runs.append(await measure_postgres(postgres_url=url, records=args.verify_records))
    print(f"  {runs[-1].verify_seconds:.1f} s", flush=True)
    if not args.no_sqlite:
        print(f"verify: {args.verify_records:,} records on SQLite ...", flush=True)
        with tempfile.TemporaryDirectory(prefix="sds-bench-audit-") as tmp:
            runs.append(
                await measure_sqlite(path=Path(tmp) / "audit.sqlite", records=args.verify_records)
            )
        print(f"  {runs[-1].verify_seconds:.1f} s", flush=True)
    facts = (
        f"{machine_facts()}, load average (1/5/15 min) {load_before} before the run, "
        f"{_load()} at the end (the end includes the benchmark's own processes)"
    )
    return Results(
        ingest=ingest, verifications=tuple(runs), facts=facts, versions=await _versions(url)
    )


def report(results: Results) -> str:
    """The Markdown section: context, tables, and each target met or missed."""
    ingest = results.ingest
    lines = [
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {results.facts}; {results.versions}.",
        "Kafka, PostgreSQL, the producer and the audit service share the machine's cores.",
        "",
        f"Targets: **≥ {TARGET_INGEST:,.0f} audit records/s ingested from real Kafka into "
        f"PostgreSQL; verify of {TARGET_VERIFY_RECORDS:,} records in under "
        f"{TARGET_VERIFY_SECONDS:.0f} s**.",
        "",
        "### Ingest",
        "",
        f"{ingest.events:,} realistic events (whole generator lives: upload, profile, DP "
        "training with 20 progress epochs, budget reserve/spend/release, sample, evaluation, "
        "explanation, download, an authentication failure) published by a producer process to a "
        "fresh topic set; the audit service (real bootstrap, its own process, consumer group and "
        "PostgreSQL schema) appends them with one batch subscription per fetch. Records/s: first "
        "commit → last commit (the first commit's records not counted); end to end: producer's "
        "first send → last commit.",
        "",
        "| Records/s | End to end | Published at | Commits (mean records) | Audit CPU | "
        "In the log once | Chain | Target |",
        "|---:|---:|---:|---:|---:|---|---|---|",
        f"| {ingest.per_second:,.0f} | {ingest.end_to_end_per_second:,.0f}/s "
        f"| {ingest.publish_per_second:,.0f}/s | {ingest.commits:,} ({ingest.mean_batch:,.0f}) "
        f"| {ingest.cpu_seconds:.1f} s | {_once(ingest)} "
        f"| {'verifies' if ingest.verified else 'BROKEN: ' + ingest.verify_detail} "
        f"| {_ingest_verdict(ingest)} |",
        "",
        f"The audit process used {_cpu_per_record(ingest)}: what one core would sustain if the "
        "service had it to itself. The wall-clock rate is lower whenever the load average "
        "exceeds the cores (see above).",
        "",
        "### Verification",
        "",
        "Chains built by the real code (`entry_of` on realistic envelopes, `seal_all`), a signed "
        "checkpoint every 1,000 records, written straight into the migrated tables (PostgreSQL: "
        "binary `COPY`), then verified by `verify_log` (`GET /api/v1/audit/verify`). *CPU* is "
        "the verifying process's own CPU time; the rest of the wall time is PostgreSQL's work "
        "and waiting for a core.",
        "",
        "| Database | Records | Verify (wall) | Verify CPU | Records/s | Checkpoints | Result "
        "| Build + load | Target |",
        "|---|---:|---:|---:|---:|---:|---|---:|---|",
    ]
    lines.extend(_verify_row(run_) for run_ in results.verifications)
    return "\n".join(lines)


def _verify_row(run_: VerifyRun) -> str:
    return (
        f"| {run_.database} | {run_.records:,} | {run_.verify_seconds:.1f} s "
        f"| {run_.verify_cpu_seconds:.1f} s | {run_.per_second:,.0f} "
        f"| {run_.checkpoints_checked:,} | {'ok' if run_.ok else '**broken**'} "
        f"| {run_.build_seconds:.0f} + {run_.load_seconds:.0f} s | {_verify_verdict(run_)} |"
    )


def _cpu_per_record(ingest: Ingest) -> str:
    if ingest.cpu_seconds <= 0 or ingest.events <= ingest.first_commit_records:
        return "too little CPU time to measure"
    counted = ingest.events - ingest.first_commit_records
    per_record = ingest.cpu_seconds / counted
    return (
        f"{per_record * 1e6:,.0f} µs of CPU per record from the first commit to the last, "
        f"i.e. {1 / per_record:,.0f} records per CPU-second"
    )


def _once(ingest: Ingest) -> str:
    exact = ingest.records == ingest.distinct_event_ids == ingest.events
    return f"{'yes' if exact else '**no**'} ({ingest.records:,} records)"


def _ingest_verdict(ingest: Ingest) -> str:
    if ingest.commits < 2:
        return "not measured (one commit)"
    if ingest.per_second >= TARGET_INGEST:
        return "met"
    return f"**missed** ({ingest.per_second / TARGET_INGEST - 1:+.0%})"


def _verify_verdict(run_: VerifyRun) -> str:
    if run_.records < TARGET_VERIFY_RECORDS:
        projected = run_.verify_seconds * TARGET_VERIFY_RECORDS / max(run_.records, 1)
        return f"not measured at 1M (linear: {projected:.0f} s)"
    if run_.verify_seconds < TARGET_VERIFY_SECONDS:
        return "met"
    return f"**missed** ({run_.verify_seconds / TARGET_VERIFY_SECONDS:.1f}x)"


def services_env() -> dict[str, str]:
    """``.services/env`` (``make services``), overridden by ``SDS_TEST_*`` variables."""
    values: dict[str, str] = {}
    env_file = ROOT / ".services" / "env"
    if env_file.exists():
        for line in env_file.read_text().splitlines():
            key, sep, value = line.strip().removeprefix("export ").partition("=")
            if sep and not key.startswith("#"):
                values[key] = value.strip().strip("'\"")
    values.update({k: v for k, v in os.environ.items() if k.startswith("SDS_TEST_")})
    return values


async def _versions(url: str) -> str:
    from sqlalchemy import text  # noqa: PLC0415

    from sds_common.db import create_engine  # noqa: PLC0415

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            pg = (await conn.execute(text("SHOW server_version"))).scalar_one()
    finally:
        await engine.dispose()
    jars = sorted((ROOT / ".services" / "lib" / "kafka").glob("kafka-server-[0-9]*.jar"))
    kafka = jars[-1].stem.removeprefix("kafka-server-") if jars else "unknown"
    return f"Kafka {kafka} (KRaft, 1 broker, 3 partitions per topic), PostgreSQL {pg}"


def _load() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


async def main(argv: Sequence[str] | None = None) -> Results:
    """Run the benchmark; write its section unless ``--no-write``."""
    args = parse_args(argv)
    # Verification runs in this process: collect garbage as a service process does.
    tune_gc()
    env = services_env()
    kafka, postgres = env.get("SDS_TEST_KAFKA"), env.get("SDS_TEST_POSTGRES")
    if not kafka or not postgres:
        raise SystemExit("Kafka/PostgreSQL not configured: run `make services` first")
    results = await run(args, kafka=kafka, postgres=postgres)
    section = report(results)
    if not args.no_write:
        write_section(SECTION, section)
    print()
    print(section)
    return results


def cli() -> None:
    """Run on uvloop when installed, as uvicorn (``loop="auto"``) runs the services."""
    try:
        import uvloop  # noqa: PLC0415
    except ImportError:
        asyncio.run(main())
    else:
        uvloop.run(main())


if __name__ == "__main__":
    cli()
