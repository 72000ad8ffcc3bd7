"""Run an ASGI app with uvicorn and shut it down gracefully.

On SIGTERM or SIGINT (or when ``shutdown_event`` is set) the server stops accepting connections,
lets in-flight requests finish within the grace period (then cancels them), and runs the app
lifespan's shutdown, where services stop their bus consumers and hand back in-flight messages.
A second SIGINT skips the wait. The process then returns normally (exit status 0).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import signal
import socket
import threading
from collections.abc import Callable, Coroutine, Generator
from types import FrameType
from typing import TYPE_CHECKING, Any, TypeVar

import uvicorn

from sds_common.runtime.process import tune_gc

if TYPE_CHECKING:
    from starlette.types import ASGIApp

    from sds_common.settings import Settings

logger = logging.getLogger(__name__)

DEFAULT_GRACE_PERIOD_S = 20.0
_SIGNALS = (signal.SIGINT, signal.SIGTERM)

_SignalHandler = Callable[[int, FrameType | None], Any] | int | None
_T = TypeVar("_T")


def run_loop(main: Coroutine[Any, Any, _T]) -> _T:
    """``asyncio.run(main)`` on uvloop when it is installed (``uvicorn[standard]`` brings it).

    uvicorn only picks uvloop for a loop it creates itself; ``serve`` runs in the caller's loop,
    so the caller chooses. On the embedded gateway's GET uvloop saved about a tenth of the
    server's CPU per request (``benchmarks/gateway.py``'s load against ``sds up`` with and
    without it).
    """
    try:
        import uvloop  # noqa: PLC0415
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


class _GracefulServer(uvicorn.Server):
    """A uvicorn server whose signal handling does not re-raise the signal after shutdown.

    Uvicorn re-raises a caught SIGTERM once it has stopped, which kills the process with status
    143 before the caller can flush traces; here the caller's code simply continues.
    """

    def __init__(self, config: uvicorn.Config, *, handle_signals: bool, tune_gc: bool) -> None:
        super().__init__(config)
        self._handle_signals = handle_signals
        self._tune_gc = tune_gc

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self._tune_gc and self.started:
            tune_gc()  # after the lifespan built and started every service

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        if not self._handle_signals or threading.current_thread() is not threading.main_thread():
            yield
            return
        previous: dict[int, _SignalHandler] = {
            sig: signal.signal(sig, self._on_signal) for sig in _SIGNALS
        }
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _on_signal(self, sig: int, frame: FrameType | None) -> None:  # noqa: ARG002
        if self.should_exit and sig == signal.SIGINT:
            logger.warning("second interrupt: stopping without waiting for in-flight requests")
            self.force_exit = True
        else:
            logger.info("received %s: shutting down gracefully", signal.Signals(sig).name)
            self.should_exit = True


async def serve(
    app: ASGIApp,
    settings: Settings,
    *,
    grace_period_s: float = DEFAULT_GRACE_PERIOD_S,
    shutdown_event: asyncio.Event | None = None,
    handle_signals: bool = True,
    gc_tuning: bool = False,
) -> None:
    """Serve ``app`` on ``settings.http_host:http_port`` until a signal or ``shutdown_event``.

    Uvicorn's own logging configuration is disabled, so its records go through the handler of
    :func:`sds_common.telemetry.configure_logging`; the per-request log line comes from the
    app's telemetry middleware instead of uvicorn's access log.

    Args:
        app: The ASGI app (its lifespan runs at start and at shutdown).
        settings: Uses ``http_host``, ``http_port`` and ``log_level``.
        grace_period_s: How long in-flight requests may run after shutdown begins (rounded up
            to whole seconds).
        shutdown_event: Setting it starts a graceful shutdown (for embedding and tests).
        handle_signals: Install SIGTERM/SIGINT handlers (main thread only).
        gc_tuning: Once started, tune the garbage collector for a long-running service
            (:func:`.process.tune_gc`); for a process that serves until it exits, not for one
            that builds many apps (tests).

    Raises:
        RuntimeError: The server could not start (port in use, lifespan startup failed).
    """
    config = uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port,
        lifespan="on",
        log_config=None,
        log_level=settings.log_level.lower(),
        access_log=False,
        server_header=False,
        # uvicorn takes whole seconds
        timeout_graceful_shutdown=max(math.ceil(grace_period_s), 0),
    )
    server = _GracefulServer(config, handle_signals=handle_signals, tune_gc=gc_tuning)

    async def stop_when_set(event: asyncio.Event) -> None:
        await event.wait()
        logger.info("shutdown requested: shutting down gracefully")
        server.should_exit = True

    watcher = asyncio.create_task(stop_when_set(shutdown_event)) if shutdown_event else None
    try:
        await server.serve()
    except SystemExit as exc:  # uvicorn exits the process when it cannot bind
        raise RuntimeError("the HTTP server could not start; see the log") from exc
    finally:
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
    if not server.started:
        raise RuntimeError("the HTTP server did not start; see the log")


def run(
    app: ASGIApp,
    settings: Settings,
    *,
    grace_period_s: float = DEFAULT_GRACE_PERIOD_S,
) -> None:
    """Blocking form of :func:`serve` for a service's ``__main__``.

    Args:
        app: The ASGI app.
        settings: See :func:`serve`.
        grace_period_s: See :func:`serve`.
    """
    run_loop(serve(app, settings, grace_period_s=grace_period_s, gc_tuning=True))
