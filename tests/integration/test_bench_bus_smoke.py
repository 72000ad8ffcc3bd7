"""Keeps ``benchmarks/bus.py`` from rotting: its measurements, tiny, on both setups.

Counts only (every event applied exactly once, in per-key order); speed is the benchmark's job.
The Kafka setup runs the producer and the consumer as two processes, as the benchmark does.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import bus
from benchmarks._results import write_section


@pytest.fixture
def memory(tmp_path: Path) -> bus.Backend:
    return bus.memory_backend(tmp_path)


async def test_throughput_applies_every_event_once(memory: bus.Backend) -> None:
    result = await bus.measure_throughput(memory, events=250, per_transaction=100)
    assert (result.events, result.rows, result.out_of_order) == (250, 250, 0)
    assert result.seconds > 0


async def test_latency_applies_every_event_once(memory: bus.Backend) -> None:
    result = await bus.measure_latency(memory, rate=200.0, seconds=0.25)
    assert (result.events, result.rows) == (50, 50)
    assert 0 <= result.p50_ms <= result.p99_ms <= result.max_ms


async def test_batch_handler_applies_every_event_once(memory: bus.Backend) -> None:
    result = await bus.measure_throughput(memory.batched(), events=250, per_transaction=100)
    assert (result.events, result.rows, result.out_of_order) == (250, 250, 0)
    latency = await bus.measure_latency(memory.batched(), rate=200.0, seconds=0.25)
    assert (latency.events, latency.rows) == (50, 50)


async def test_report_renders_one_row_per_setup_and_handler(memory: bus.Backend) -> None:
    throughput = await bus.measure_throughput(memory, events=20, per_transaction=10)
    latency = await bus.measure_latency(memory, rate=100.0, seconds=0.1)
    rows = [(memory, throughput, latency), (memory.batched(), throughput, latency)]
    text = bus.report(rows, facts="test", versions="test", loop="test")
    assert text.count("| MemoryBroker + SQLite | per event") == 1
    assert text.count("| MemoryBroker + SQLite | batch") == 1


@pytest.fixture
def kafka(kafka_bootstrap: str, postgres_dsn: str) -> bus.Backend:
    return bus.split_backend(kafka=kafka_bootstrap, postgres=postgres_dsn)


@pytest.mark.kafka
async def test_two_process_throughput_applies_every_event_once(kafka: bus.Backend) -> None:
    result = await bus.measure_throughput(kafka, events=300, per_transaction=100)
    assert (result.events, result.rows, result.out_of_order) == (300, 300, 0)
    assert result.seconds > 0


@pytest.mark.kafka
async def test_two_process_batch_throughput_applies_every_event_once(kafka: bus.Backend) -> None:
    result = await bus.measure_throughput(kafka.batched(), events=300, per_transaction=100)
    assert (result.events, result.rows, result.out_of_order) == (300, 300, 0)


@pytest.mark.kafka
async def test_two_process_latency_applies_every_event_once(kafka: bus.Backend) -> None:
    result = await bus.measure_latency(kafka, rate=100.0, seconds=0.5)
    assert (result.events, result.rows) == (50, 50)
    assert 0 <= result.p50_ms <= result.p99_ms <= result.max_ms


def test_write_section_replaces_only_its_section(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    write_section("A", "first", path=results)
    write_section("B (make b)", "bee", path=results)
    write_section("A", "second", path=results)
    text = results.read_text()
    assert "second" in text
    assert "first" not in text
    assert text.index("## A") < text.index("## B (make b)")
    assert text.count("## A") == 1
    assert "bee" in text
