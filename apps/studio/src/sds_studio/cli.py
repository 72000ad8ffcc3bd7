"""``sds``: run the embedded studio and drive a gateway from the command line.

``sds demo`` is the main job end to end on the embedded default: it starts every service in this
process, uploads the bundled UCI Adult table, trains ``auto`` (the method the product recommends
for the table) at ε = 1, samples as many rows as the input, evaluates them, prints the headline
scores beside an independent-columns baseline's and the ε spent, and leaves the synthetic CSV and
the HTML report in a folder it names. The other commands talk to a running gateway.

Options with a documented variable take it as their default (``SDS_DATA_DIR``, ``SDS_HTTP_HOST``,
``SDS_HTTP_PORT``, ``SDS_URL``); the command line wins over the environment. The terminal is kept
for the commands' own output: the log (library warnings included) goes to standard error as JSON
for ``sds up``, like every service, and to ``SDS_DATA_DIR/logs/`` for the other commands.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console

from sds_common.settings import Settings
from sds_common.telemetry import configure_logging
from sds_studio.client import TERMINAL, StudioClient, StudioError
from sds_studio.credentials import cli_secret, data_dir_of
from sds_studio.main_job import MainJob, MainJobOptions
from sds_studio.progress import JobProgress
from sds_studio.schema_review import declaration_body, schema_view
from sds_studio.waiting import download_when_ready, error_text, follow

app = typer.Typer(no_args_is_help=True, help="Synthetic Data Studio command line.")
#: Results (JSON, tables) on standard output; progress and waiting notes on standard error, so
#: that ``$(sds sample … )`` captures only the JSON.
console = Console()
notes = Console(stderr=True)

ROOT = Path(__file__).resolve().parents[4]
ADULT = ROOT / "data" / "adult" / "adult.csv"

DataDir = Annotated[
    Path,
    typer.Option(
        help="the local studio's data folder (the CLI reads its secret there)",
        envvar="SDS_DATA_DIR",
    ),
]
Url = Annotated[str, typer.Option(help="the gateway", envvar="SDS_URL")]
Wait = Annotated[
    bool | None,
    typer.Option(
        "--wait/--no-wait",
        help="follow the job with a progress bar until it ends (default: when standard "
        "output is a terminal)",
        show_default=False,
    ),
]
#: Final statuses (``TERMINAL``) that are a success.
SUCCESS = frozenset({"succeeded", "ready"})

# The services (torch, pandas, sklearn) are imported only by the commands that run them, after
# the log is configured: the client commands start in well under a second, and warnings raised
# while the services load are log records like any other.


@app.command()
def up(
    data_dir: DataDir = Path(".sds"),
    host: Annotated[str, typer.Option(help="interface to bind", envvar="SDS_HTTP_HOST")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="HTTP port", envvar="SDS_HTTP_PORT")] = 8000,
) -> None:
    """Run every service in this process until Ctrl-C (API docs at http://HOST:PORT/docs)."""
    configure_logging(Settings(service_name="studio"), exclusive=True)
    from sds_common.runtime import run_loop, serve  # noqa: PLC0415
    from sds_studio.embedded import build_app, embedded_settings  # noqa: PLC0415

    settings = embedded_settings(data_dir=data_dir, http_host=host, http_port=port)
    console.print(f"Synthetic Data Studio (embedded) on http://{host}:{port}  data: {data_dir}")
    run_loop(serve(build_app(settings), settings, gc_tuning=True))


@app.command()
def demo(
    data: Annotated[Path, typer.Option(help="table to synthesise")] = ADULT,
    target: Annotated[str | None, typer.Option(help="column ML utility predicts")] = "income",
    epsilon: Annotated[float, typer.Option(help="privacy budget of the training")] = 1.0,
    method: Annotated[
        str, typer.Option(help="synthesizer: auto (recommended), aim, mst, dp-ctgan, ctgan")
    ] = "auto",
    epochs: Annotated[int | None, typer.Option(help="training epochs (dp-ctgan, ctgan)")] = None,
    out: Annotated[Path, typer.Option(help="where results go")] = Path("sds-output"),
    data_dir: Annotated[
        Path | None,
        typer.Option(help="the demo studio's data folder (default: SDS_DATA_DIR/demo)"),
    ] = None,
) -> None:
    """Run the main job end to end on the embedded studio (no servers needed)."""
    folder = data_dir if data_dir is not None else data_dir_of() / "demo"
    log_path = folder / "logs" / "demo.log"
    logs: dict[str, Any] = {"log_format": "console", "log_level": "INFO"}
    configure_logging(Settings(service_name="studio", **logs), path=log_path, exclusive=True)
    from sds_common.auth import load_or_create_embedded_secret  # noqa: PLC0415
    from sds_common.runtime import serve  # noqa: PLC0415
    from sds_studio.embedded import build_app, embedded_settings  # noqa: PLC0415

    settings = embedded_settings(data_dir=folder, http_port=_free_port(), **logs)
    options = MainJobOptions(
        data=data, target=target, epsilon=epsilon, epochs=epochs, out=out, method=method
    )

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

    succeeded = asyncio.run(run())
    console.print(f"log:            [cyan]{log_path}[/]")
    raise typer.Exit(code=0 if succeeded else 1)


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
    return StudioClient(
        url,
        secret=cli_secret(data_dir),
        user_id=os.environ.get("SDS_USER_ID", "local-user"),
        email=os.environ.get("SDS_USER_EMAIL", "local-user@localhost"),
    )


def _run(url: str, data_dir: Path, action: Callable[[StudioClient], Awaitable[Any]]) -> None:
    settings = Settings(service_name="sds-cli", log_format="console", log_level="INFO")
    try:
        configure_logging(settings, path=data_dir / "logs" / "cli.log", exclusive=True)
    except OSError:  # a data folder we may not write to: the terminal then gets warnings only
        configure_logging(settings.model_copy(update={"log_level": "WARNING"}), exclusive=True)

    async def go() -> Any:
        async with _client(url, data_dir) as client:
            return await action(client)

    try:
        result = asyncio.run(go())
    except StudioError as exc:
        notes.print(f"[red]error[/]: {exc.detail} ({exc.status} {exc.code})")
        raise typer.Exit(code=1) from exc
    except httpx.TransportError as exc:
        notes.print(
            f"[red]error[/]: no gateway answers at {url} ({type(exc).__name__}); start one with "
            "`sds up` (or `make up-embedded`), or point SDS_URL at yours"
        )
        raise typer.Exit(code=1) from exc
    if result is not None:
        console.print_json(data=result)
        status = result.get("status") if isinstance(result, dict) else None
        if status in TERMINAL and status not in SUCCESS:
            notes.print(f"[red]{status}[/]: {error_text(result)}")
            raise typer.Exit(code=1)


def _waits(wait: bool | None) -> bool:
    """``--wait``/``--no-wait`` as given, else whether a person is watching standard output."""
    return sys.stdout.isatty() if wait is None else wait


async def _follow(client: StudioClient, path: str, *, label: str) -> dict[str, Any]:
    return await follow(client, path, label=label, console=notes)


@app.command()
def upload(
    file: Path,
    project: Annotated[str | None, typer.Option(help="project id (default: a new one)")] = None,
    target: Annotated[str | None, typer.Option(help="target column for utility scores")] = None,
    wait: Wait = None,
    url: Url = "http://127.0.0.1:8000",
    data_dir: DataDir = Path(".sds"),
) -> None:
    """Upload a CSV/TSV/Parquet/JSON-lines table (profiled in the background)."""

    async def action(client: StudioClient) -> Any:
        project_id = project or (await client.create_project(file.stem))["id"]
        dataset = await client.upload(file, project_id=project_id, target=target)
        if not _waits(wait):
            return dataset
        return await _follow(client, f"/datasets/{dataset['id']}", label="profiling")

    _run(url, data_dir, action)


@app.command()
def train(
    dataset_id: str,
    epsilon: Annotated[float, typer.Option(help="privacy budget")] = 1.0,
    method: Annotated[
        str, typer.Option(help="synthesizer: auto (recommended), aim, mst, dp-ctgan, ctgan")
    ] = "auto",
    epochs: Annotated[int | None, typer.Option(help="training epochs (dp-ctgan, ctgan)")] = None,
    wait: Wait = None,
    url: Url = "http://127.0.0.1:8000",
    data_dir: DataDir = Path(".sds"),
) -> None:
    """Train a generator on a profiled dataset."""
    params = {"epochs": epochs} if epochs else {}

    async def action(client: StudioClient) -> Any:
        generator = await client.train(dataset_id, method=method, epsilon=epsilon, params=params)
        if not _waits(wait):
            return generator
        return await _follow(client, f"/generators/{generator['id']}", label=f"training {method}")

    _run(url, data_dir, action)


@app.command()
def sample(
    generator_id: str,
    rows: Annotated[
        int | None, typer.Option(help="rows (default: as many as the uploaded table)")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="random seed")] = None,
    wait: Wait = None,
    url: Url = "http://127.0.0.1:8000",
    data_dir: DataDir = Path(".sds"),
) -> None:
    """Generate synthetic rows from a trained generator (evaluated automatically)."""

    async def action(client: StudioClient) -> Any:
        synthetic = await client.sample(generator_id, rows=rows, seed=seed)
        if not _waits(wait):
            return synthetic
        return await _follow(client, f"/synthetic-datasets/{synthetic['id']}", label="sampling")

    _run(url, data_dir, action)


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
    """Show a job's live progress until it ends (Server-Sent Events)."""

    async def action(client: StudioClient) -> None:
        with JobProgress(notes, label=f"job {job_id[:8]}") as bar:
            async for event in client.events(job_id):
                bar.update(event)
        if bar.last_status in TERMINAL and bar.last_status not in SUCCESS:
            raise typer.Exit(code=1)

    _run(url, data_dir, action)


@app.command()
def download(
    synthetic_dataset_id: str,
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet")] = "csv",
    out: Annotated[Path, typer.Option(help="file to write")] = Path("synthetic.csv"),
    wait: Annotated[
        bool, typer.Option("--wait/--no-wait", help="wait for rows still being generated")
    ] = True,
    url: Url = "http://127.0.0.1:8000",
    data_dir: DataDir = Path(".sds"),
) -> None:
    """Download synthetic rows (waiting for them first while they are being generated)."""

    async def action(client: StudioClient) -> None:
        written = await download_when_ready(
            client, synthetic_dataset_id, out=out, fmt=fmt, wait=wait, console=notes
        )
        notes.print(f"wrote {written}")

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
