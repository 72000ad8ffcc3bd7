"""A job's live progress as a rich bar, fed by its Server-Sent Events.

One display for every command that follows a job: ``sds watch``, ``sds train --wait``,
``sds sample --wait``, ``sds upload --wait`` and ``sds download`` while its sample is generated.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

#: Events that only move the bar; every other event (queued, started, finished ...) also prints
#: a line above it, so the job's history stays on the screen.
_QUIET = frozenset({"TrainingProgress"})


class JobProgress:
    """A progress bar for one job: its share done, its latest message, ε spent when training.

    Use as a context manager and hand :meth:`update` to ``StudioClient.wait`` or call it with
    each event of ``StudioClient.events``.

    Args:
        console: where the bar is drawn (standard error, so standard output stays JSON).
        label: what the job does, e.g. ``training generator 1f2e…``.
    """

    def __init__(self, console: Console, *, label: str) -> None:
        self._console = console
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=console,
        )
        self._task: TaskID = self._progress.add_task(label, total=1.0, detail="")
        self.last_status: str | None = None

    def __enter__(self) -> JobProgress:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def update(self, event: dict[str, Any]) -> None:
        """Show one Server-Sent Event of the job (``event``: its type; ``data``: its payload)."""
        name = str(event.get("event") or "")
        data = event.get("data")
        if not isinstance(data, dict):
            return
        status = data.get("status")
        if isinstance(status, str):
            self.last_status = status
        progress = data.get("progress")
        if status == "succeeded":
            progress = 1.0
        detail = _detail(data)
        if isinstance(progress, int | float):
            self._progress.update(self._task, completed=float(progress), detail=detail)
        else:
            self._progress.update(self._task, detail=detail)
        if name not in _QUIET:
            message = data.get("message") or status or ""
            self._progress.console.print(f"[bold]{name}[/] {message}".rstrip())


def _detail(data: dict[str, Any]) -> str:
    """The short text beside the bar: epoch and ε spent for a training, else the message."""
    epoch, total = data.get("epoch"), data.get("total_epochs")
    if epoch is not None and total is not None:
        eps = data.get("epsilon_spent")
        spent = f" · ε spent {eps:.3f}" if isinstance(eps, float) else ""
        return f"epoch {epoch}/{total}{spent}"
    message = data.get("message") or data.get("status") or ""
    return str(message)
