"""Waiting for a job the way a person expects: a progress bar, then the final resource.

Shared by the CLI's ``--wait`` options and ``sds download``, which waits for rows still being
generated instead of failing on them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console

from sds_studio.client import TERMINAL, StudioClient, StudioError
from sds_studio.progress import JobProgress


async def follow(
    client: StudioClient, path: str, *, label: str, console: Console
) -> dict[str, Any]:
    """Follow a resource's job with a progress bar on ``console``; return it once final."""
    with JobProgress(console, label=label) as bar:
        return await client.wait(path, on_update=bar.update)


def error_text(resource: dict[str, Any]) -> str:
    """Why a resource failed, in words (its ``error`` message, else its code)."""
    error = resource.get("error")
    if isinstance(error, dict):
        return str(error.get("message") or error.get("code") or error)
    return str(error or "no reason given")


async def download_when_ready(
    client: StudioClient,
    synthetic_dataset_id: str,
    *,
    out: Path,
    fmt: str = "csv",
    wait: bool = True,
    console: Console,
) -> Path:
    """Write a synthetic dataset's rows to ``out``, first waiting for them if still generated.

    Raises:
        StudioError: the rows are not there: the sample failed or was cancelled (with the
            reason), or it is still queued or running and ``wait`` is false.
    """
    path = f"/synthetic-datasets/{synthetic_dataset_id}"
    synthetic = await client.get(path)
    if synthetic["status"] not in TERMINAL and wait:
        console.print(
            f"synthetic dataset {synthetic_dataset_id} is {synthetic['status']}: waiting for its "
            "rows (Ctrl-C stops waiting, not the job)"
        )
        synthetic = await follow(client, path, label="sampling", console=console)
    status = synthetic["status"]
    if status != "succeeded":
        reason = f": {error_text(synthetic)}" if status in TERMINAL else ""
        raise StudioError(
            409,
            "synthetic_dataset_not_ready",
            f"synthetic dataset {synthetic_dataset_id} is {status}{reason}",
        )
    return await client.download(f"{path}/download?format={fmt}", out)
