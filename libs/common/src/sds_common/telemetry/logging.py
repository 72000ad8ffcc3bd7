"""Process logging: one JSON object per line (or a readable console line), with trace ids.

Every record carries the service name and, when an OpenTelemetry span is current, its
``trace_id`` and ``span_id``, so a log line leads to its trace. Credentials never reach the
output: see :mod:`sds_common.telemetry.redaction`. Warnings (``warnings.warn``, from our code or a
library) are log records too, at level WARNING: they reach the log, never a terminal that a
command keeps for its own output.
"""

from __future__ import annotations

import logging
import sys
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TextIO

import orjson
from opentelemetry import trace

from sds_common.telemetry.redaction import RedactionFilter, scrub_text

if TYPE_CHECKING:
    from sds_common.settings import Settings

_STANDARD_ATTRIBUTES = frozenset(
    {
        *logging.LogRecord("", logging.INFO, "", 0, "", (), None).__dict__,
        "message",
        "asctime",
        "taskName",
        "color_message",  # uvicorn's coloured duplicate of the message
    }
)
_CORE_FIELDS = frozenset(
    {"timestamp", "level", "logger", "message", "service", "trace_id", "span_id", "exception"}
)


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _trace_ids() -> tuple[str, str] | None:
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    extras: dict[str, Any] = {}
    for key, value in record.__dict__.items():
        if key in _STANDARD_ATTRIBUTES:
            continue
        # a caller's extra never overwrites a core field
        extras[f"extra_{key}" if key in _CORE_FIELDS else key] = value
    return extras


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object (no newline inside)."""

    def __init__(self, *, service: str) -> None:
        """Create the formatter.

        Args:
            service: Service name written in every line.
        """
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        """Return the JSON line of ``record``."""
        document: dict[str, Any] = {
            "timestamp": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub_text(record.getMessage()),
            "service": self._service,
        }
        if ids := _trace_ids():
            document["trace_id"], document["span_id"] = ids
        if record.exc_info:
            document["exception"] = scrub_text(self.formatException(record.exc_info))
        elif record.exc_text:
            document["exception"] = scrub_text(record.exc_text)
        if record.stack_info:
            document["stack"] = self.formatStack(record.stack_info)
        document.update(_extras(record))
        return orjson.dumps(document, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


class ConsoleFormatter(logging.Formatter):
    """Formats a record as a readable line: time, level, logger, message, extras, trace id."""

    def format(self, record: logging.LogRecord) -> str:
        """Return the console line of ``record``."""
        line = (
            f"{_timestamp(record)} {record.levelname:<8} {record.name}: "
            f"{scrub_text(record.getMessage())}"
        )
        fields = [
            f"{key}={orjson.dumps(value, default=str).decode()}"
            for key, value in _extras(record).items()
        ]
        if ids := _trace_ids():
            fields.append(f"trace_id={ids[0]}")
        if fields:
            line = f"{line}  {' '.join(fields)}"
        if record.exc_info:
            line = f"{line}\n{scrub_text(self.formatException(record.exc_info))}"
        if record.stack_info:
            line = f"{line}\n{self.formatStack(record.stack_info)}"
        return line


class _SdsHandler(logging.StreamHandler[IO[str]]):
    """Marks the handler this module installs, so a second configuration replaces it."""


class _SdsFileHandler(logging.FileHandler, _SdsHandler):
    """The same, writing to a file it opens (and closes when replaced)."""


#: The logger warnings are recorded on (the name ``logging.captureWarnings`` uses).
WARNINGS_LOGGER = "py.warnings"


def _log_warning(  # noqa: PLR0917 — the signature of warnings.showwarning
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """``warnings.showwarning`` that records a warning as one log line at level WARNING.

    A caller that names a ``file`` gets the standard text there, as before.
    """
    if file is not None:
        file.write(warnings.formatwarning(message, category, filename, lineno, line))
        return
    logging.getLogger(WARNINGS_LOGGER).warning(
        "%s: %s",
        category.__name__,
        message,
        extra={"warning_category": category.__name__, "warning_location": f"{filename}:{lineno}"},
    )


def configure_logging(
    settings: Settings,
    *,
    stream: IO[str] | None = None,
    path: Path | None = None,
    exclusive: bool = False,
) -> logging.Handler:
    """Send every log record of the process through one redacting handler on the root logger.

    Calling it again replaces the handler it installed before (never doubles output). Handlers
    installed by others are left alone. Warnings become records of the ``py.warnings`` logger at
    level WARNING (category and location as fields), wherever they are raised.

    Args:
        settings: Uses ``service_name``, ``log_level`` and ``log_format`` (``json`` or ``console``).
        stream: Where lines go; standard error by default.
        path: A file to append lines to instead (its folder is created): a command that keeps the
            terminal for its own output, such as ``sds demo``, logs there.
        exclusive: Also remove handlers others installed. A process entry point owns the root
            logger: some libraries (Opacus) call ``logging.basicConfig`` at import, which would
            print every line a second time, unformatted and unredacted.

    Returns:
        The installed handler.

    Raises:
        ValueError: ``log_format`` or ``log_level`` is not a known value, or both ``stream`` and
            ``path`` are given.
    """
    log_format = settings.log_format.lower()
    formatter: logging.Formatter
    if log_format == "json":
        formatter = JsonFormatter(service=settings.service_name)
    elif log_format == "console":
        formatter = ConsoleFormatter()
    else:
        raise ValueError(f"unknown log format {settings.log_format!r}: use json or console")
    level = logging.getLevelNamesMapping().get(settings.log_level.upper())
    if level is None:
        raise ValueError(f"unknown log level {settings.log_level!r}")

    if stream is not None and path is not None:
        raise ValueError("give a stream or a path, not both")
    handler: _SdsHandler
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = _SdsFileHandler(path, encoding="utf-8")
    else:
        handler = _SdsHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(formatter)
    handler.addFilter(RedactionFilter(standard_attributes=_STANDARD_ATTRIBUTES))

    root = logging.getLogger()
    for existing in [h for h in root.handlers if exclusive or isinstance(h, _SdsHandler)]:
        root.removeHandler(existing)
        existing.close()
    root.addHandler(handler)
    root.setLevel(level)
    warnings.showwarning = _log_warning
    return handler
