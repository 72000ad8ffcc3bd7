"""``sds``: run the embedded studio and drive a gateway from the command line.

``sds demo`` is the main job end to end on the embedded default: it starts every service in this
process, uploads the bundled UCI Adult table, trains ``dp-ctgan`` at ε = 1, samples as many rows
as the input, evaluates them, prints the headline scores and the ε spent, and leaves the synthetic
CSV and the HTML report in a folder it names. The other commands talk to a running gateway.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console

from sds_common.auth import load_or_create_embedded_secret
from sds_common.runtime import run_loop, serve
from sds_common.telemetry import configure_logging
from sds_studio.client import StudioClient, StudioError
from sds_studio.embedded import build_app, embedded_settings
from sds_studio.main_job import MainJob, MainJobOptions
from sds_studio.schema_review import declaration_body, schema_view

app = typer.Typer(no_args_is_help=True, help="Synthetic Data Studio command line.")
console = Console()

ROOT = Path(__file__).resolve().parents[4]
ADULT = ROOT / "data" / "adult" / "adult.csv"

DataDir = Annotated[Path, typer.Option(help="the embedded studio's data folder")]
Url = Annotated[str, typer.Option(help="the gateway", envvar="SDS_URL")]


@app.command()
def up(
    data_dir: DataDir = Path(".sds"),
    host: Annotated[str, typer.Option(help="interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="HTTP port")] = 8000,
) -> None:
    """Run every service in this process until Ctrl-C (API docs at http://HOST:PORT/docs)."""
    settings = embedded_settings(data_dir=data_dir, http_host=host, http_port=port)
    configure_logging(settings, exclusive=True)
    console.print(f"Synthetic Data Studio (embedded) on http://{host}:{port}  data: {data_dir}")
    run_loop(serve(build_app(settings), settings, gc_tuning=True))


@app.command()
def demo(
    data: Annotated[Path, typer.Option(help="table to synthesise")] = ADULT,
    target: Annotated[str | None, typer.Option(help="column ML utility predicts")] = "income",
    epsilon: Annotated[float, typer.Option(help="privacy budget of the training")] = 1.0,
    epochs: Annotated[int | None, typer.Option(help="training epochs (method default)")] = None,
    out: Annotated[Path, typer.Option(help="where results go")] = Path("sds-output"),
    data_dir: DataDir = Path(".sds/demo"),
) -> None:
    """Run the main job end to end on the embedded studio (no servers needed)."""
    settings = embedded_settings(
        data_dir=data_dir, http_port=_free_port(), log_format="console", log_level="WARNING"
    )
    configure_logging(settings, exclusive=True)
    options = MainJobOptions(data=data, target=target, epsilon=epsilon, epochs=epochs, out=out)

    async def run() -> bool:
        stop = asyncio.Event()
        server = asyncio.create_task(
            serve(
                build_app(settings),
                settings,
                shutdown_event=stop,
                handle_signals=False,
                gc_tuning=True,
            )
        )
        try:
            base = f"http://{settings.http_host}:{settings.http_port}"
            secret = load_or_create_embedded_secret(settings.data_dir)
            async with StudioClient(base, secret=secret) as client:
                await _wait_until_up(client, server)
                return await MainJob(client, console=console, options=options).run()
        finally:
            stop.set()
            await server

    raise typer.Exit(code=0 if asyncio.run(run()) else 1)


async def _wait_until_up(client: StudioClient, server: asyncio.Task[None]) -> None:
    for _ in range(600):
        if server.done():
            server.result()
        try:
            await client.call("GET", "/projects")
        except (StudioError, httpx.TransportError):
            await asyncio.sleep(0.1)  # still starting
        else:
            return
    raise RuntimeError("the embedded studio did not start")


# ---------------------------------------------------------------------- client commands


def _client(url: str, data_dir: Path) -> StudioClient:
    secret = os.environ.get("SDS_AUTH_SECRET") or load_or_create_embedded_secret(data_dir)
    return StudioClient(
        url,
        secret=secret,
        user_id=os.environ.get("SDS_USER_ID", "local-user"),
        email=os.environ.get("SDS_USER_EMAIL", "local-user@localhost"),
    )


def _run(url: str, data_dir: Path, action: Callable[[StudioClient], Awaitable[Any]]) -> None:
    async def go() -> Any:
        async with _client(url, data_dir) as client:
            return await action(client)

    try:
        result = asyncio.run(go())
    except StudioError as exc:
        console.print(f"[red]error[/]: {exc.detail} ({exc.status} {exc.code})")
        raise typer.Exit(code=1) from exc
    if result is not None:
        console.print_json(data=result)


@app.command()
def upload(
    file: Path,
    project: Annotated[str | None, typer.Option(help="project id (default: a new one)")] = None,
    target: Annotated[str | None, typer.Option(help="target column for utility scores")] = None,
    url: Url = "http://127.0.0.1:8000",
    data_dir: DataDir = Path(".sds"),
) -> None:
    """Upload a CSV/TSV/Parquet/JSON-lines table."""

    async def action(client: StudioClient) -> Any:
        project_id = project or (await client.create_project(file.stem))["id"]
        return await client.upload(file, project_id=project_id, target=target)

    _run(url, data_dir, action)


@app.command()
def train(
    dataset_id: str,
    epsilon: Annotated[float, typer.Option(help="privacy budget")] = 1.0,
    method: Annotated[str, typer.Option(help="synthesizer")] = "dp-ctgan",
    epochs: Annotated[int | None, typer.Option(help="training epochs")] = None,
    url: Url = "http://127.0.0.1:8000",
    data_dir: DataDir = Path(".sds"),
) -> None:
    """Train a generator on a profiled dataset."""
    params = {"epochs": epochs} if epochs else {}
    _run(
        url, data_dir, lambda c: c.train(dataset_id, method=method, epsilon=epsilon, params=params)
    )


@app.command()
def sample(
    generator_id: str,
    rows: Annotated[int | None, typer.Option(help="rows (default: as many as trained on)")] = None,
    seed: Annotated[int | None, typer.Option(help="random seed")] = None,
    url: Url = "http://127.0.0.1:8000",
    data_dir: DataDir = Path(".sds"),
) -> None:
    """Generate synthetic rows from a trained generator (evaluated automatically)."""
    _run(url, data_dir, lambda c: c.sample(generator_id, rows=rows, seed=seed))


@app.command()
def evaluate(
    synthetic_dataset_id: str,
    target: Annotated[str | None, typer.Option(help="target column")] = None,
    url: Url = "http://127.0.0.1:8000",
    data_dir: DataDir = Path(".sds"),
) -> None:
    """Evaluate a synthetic dataset again (e.g. for another target column)."""
    body: dict[str, Any] = {"synthetic_dataset_id": synthetic_dataset_id}
    if target:
        body["target_column"] = target
    _run(url, data_dir, lambda c: c.call("POST", "/evaluations", json=body))


@app.command()
def watch(
    job_id: str,
    url: Url = "http://127.0.0.1:8000",
    data_dir: DataDir = Path(".sds"),
) -> None:
    """Print a job's live progress until it finishes (Server-Sent Events)."""

    async def action(client: StudioClient) -> None:
        async for event in client.events(job_id):
            console.print(f"[bold]{event.get('event')}[/] {event.get('data')}")

    _run(url, data_dir, action)


@app.command()
def download(
    synthetic_dataset_id: str,
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet")] = "csv",
    out: Annotated[Path, typer.Option(help="file to write")] = Path("synthetic.csv"),
    url: Url = "http://127.0.0.1:8000",
    data_dir: DataDir = Path(".sds"),
) -> None:
    """Download synthetic rows."""

    async def action(client: StudioClient) -> None:
        path = f"/synthetic-datasets/{synthetic_dataset_id}/download?format={fmt}"
        console.print(f"wrote {await client.download(path, out)}")

    _run(url, data_dir, action)


@app.command()
def schema(
    dataset_id: str,
    columns: Annotated[
        list[str] | None, typer.Argument(help="with --accept: the columns to declare")
    ] = None,
    accept: Annotated[
        bool,
        typer.Option(
            "--accept",
            help="declare the proposal as shown: alone for every column, or --accept COLUMN...",
        ),
    ] = False,
    target_classes: Annotated[
        bool | None,
        typer.Option(
            "--public-target-classes/--private-target-classes",
            help="the target's class labels are public (the default) or found under DP",
        ),
    ] = None,
    url: Url = "http://127.0.0.1:8000",
    data_dir: DataDir = Path(".sds"),
) -> None:
    """Review the schema and the proposal of public metadata; --accept declares it."""
    if columns and not accept:
        raise typer.BadParameter("name columns after --accept (sds schema DATASET --accept age)")

    async def action(client: StudioClient) -> None:
        path = f"/datasets/{dataset_id}/schema"
        shown = await client.get(path)
        if accept or target_classes is not None:
            try:
                body = declaration_body(
                    shown, accept=(columns or None) if accept else [], target_public=target_classes
                )
            except ValueError as exc:
                raise typer.BadParameter(str(exc)) from None
            await client.call("PUT", f"/datasets/{dataset_id}/public-metadata", json=body)
            shown = await client.get(path)
        console.print(schema_view(shown))

    _run(url, data_dir, action)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    """Entry point of the ``sds`` script."""
    app()
