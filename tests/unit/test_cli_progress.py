"""The progress display the CLI shows while it follows a job (watch, --wait, download)."""

from __future__ import annotations

import io

from rich.console import Console

from sds_studio.progress import JobProgress


def _console() -> tuple[Console, io.StringIO]:
    sink = io.StringIO()
    return Console(file=sink, force_terminal=False, width=120), sink


def test_a_training_shows_its_epochs_epsilon_and_history() -> None:
    console, sink = _console()
    events = [
        {"event": "queued", "data": {"status": "queued", "progress": 0.0, "message": "queued"}},
        {"event": "TrainingStarted", "data": {"status": "running", "message": "training on cpu"}},
        *(
            {
                "event": "TrainingProgress",
                "data": {
                    "status": "running",
                    "epoch": epoch,
                    "total_epochs": 4,
                    "epsilon_spent": 0.25 * epoch,
                    "progress": epoch / 4,
                    "message": f"epoch {epoch}/4",
                },
            }
            for epoch in range(1, 5)
        ),
    ]
    with JobProgress(console, label="training dp-ctgan") as bar:
        for event in events:
            bar.update(event)
    text = sink.getvalue()
    assert bar.last_status == "running"
    # Each change of state is a line; epochs only move the bar, which ends full with the last
    # epoch and the ε spent beside it.
    assert "TrainingStarted training on cpu" in text
    assert "TrainingProgress" not in text
    assert "100%" in text
    assert "epoch 4/4 · ε spent 1.000" in text

    console, sink = _console()
    with JobProgress(console, label="training dp-ctgan") as bar:
        bar.update({"event": "ModelTrained", "data": {"status": "succeeded", "message": "done"}})
    assert bar.last_status == "succeeded"
    assert "ModelTrained done" in sink.getvalue()
    assert "100%" in sink.getvalue()


def test_a_failed_job_is_reported_as_failed() -> None:
    console, sink = _console()
    with JobProgress(console, label="sampling") as bar:
        bar.update({"event": "GenerationFailed", "data": {"status": "failed", "message": "boom"}})
        bar.update({"event": "keep-alive", "data": "not a payload"})
    assert bar.last_status == "failed"
    assert "GenerationFailed boom" in sink.getvalue()
