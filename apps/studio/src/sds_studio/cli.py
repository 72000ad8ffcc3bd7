"""``sds``: run the embedded studio and talk to a gateway from the command line."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.table import Table

from sds_common.runtime import serve
from sds_common.telemetry import configure_logging
from sds_studio.embedded import build_app, embedded_settings

app = typer.Typer(no_args_is_help=True, help="Synthetic Data Studio command line.")
console = Console()

DataDir = Annotated[Path, typer.Option(help="where the embedded studio keeps its data")]


@app.command()
def up(
    data_dir: DataDir = Path(".sds"),
    host: Annotated[str, typer.Option(help="interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="HTTP port")] = 8000,
) -> None:
    """Run every service in this process until Ctrl-C (API at http://HOST:PORT/docs)."""
    settings = embedded_settings(data_dir=data_dir, http_host=host, http_port=port)
    configure_logging(settings)
    console.print(f"Synthetic Data Studio (embedded) on http://{host}:{port}  data: {data_dir}")
    asyncio.run(serve(build_app(settings), settings))


@app.command()
def demo(
    data_dir: DataDir = Path(".sds/demo"),
    timeout_s: Annotated[float, typer.Option(help="give up after this long")] = 120.0,
) -> None:
    """Start the embedded studio, check that every service is healthy and ready, then stop."""
    port = _free_port()
    settings = embedded_settings(
        data_dir=data_dir, http_port=port, log_format="console", log_level="WARNING"
    )
    configure_logging(settings)
    ok = asyncio.run(_demo(settings.http_host, port, build_app(settings), settings, timeout_s))
    raise typer.Exit(code=0 if ok else 1)


async def _demo(host: str, port: int, asgi: object, settings: object, timeout_s: float) -> bool:
    stop = asyncio.Event()
    server = asyncio.create_task(
        serve(asgi, settings, shutdown_event=stop, handle_signals=False)  # type: ignore[arg-type]
    )
    base = f"http://{host}:{port}"
    started = time.monotonic()
    try:
        async with httpx.AsyncClient(base_url=base, timeout=5.0) as client:
            with console.status("starting the embedded studio..."):
                body = await _wait_ready(client, server, deadline=started + timeout_s)
        _print_checks(body, seconds=time.monotonic() - started, base=base)
        return body.get("status") == "ok"
    finally:
        stop.set()
        await server


async def _wait_ready(
    client: httpx.AsyncClient, server: asyncio.Task[None], *, deadline: float
) -> dict[str, object]:
    last: dict[str, object] = {"status": "not started"}
    while time.monotonic() < deadline:
        if server.done():
            server.result()  # raises the start-up error
            return last
        try:
            response = await client.get("/ready")
            last = response.json()
            if response.status_code == 200:
                return last
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    return last


def _print_checks(body: dict[str, object], *, seconds: float, base: str) -> None:
    table = Table(title=f"Embedded studio at {base} (ready in {seconds:.1f}s)")
    table.add_column("check")
    table.add_column("status")
    checks = body.get("checks")
    if isinstance(checks, dict):
        for name, result in sorted(checks.items()):
            status = result.get("status", "?") if isinstance(result, dict) else str(result)
            table.add_row(name, f"[green]{status}[/]" if status == "ok" else f"[red]{status}[/]")
    console.print(table)
    console.print(f"overall: {body.get('status')}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    """Entry point of the ``sds`` script."""
    app()
