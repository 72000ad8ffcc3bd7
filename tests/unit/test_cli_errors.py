"""The CLI's failures read as sentences, not tracebacks."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sds_studio.cli import app


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(autouse=True)
def _root_logger_restored() -> Iterator[None]:
    """The command configures this process's logging, as an entry point does: undo it after."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
        if handler not in handlers:
            handler.close()
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def test_no_gateway_is_an_error_message_and_an_unwritable_log_no_crash(tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")  # the log folder cannot be created under it
    url = f"http://127.0.0.1:{_closed_port()}"  # nothing listens there
    result = CliRunner().invoke(
        app,
        ["download", "00000000-0000-4000-8000-000000000000", "--url", url],
        env={"SDS_AUTH_SECRET": "s", "SDS_DATA_DIR": str(blocked)},
    )
    assert result.exit_code == 1, result.output
    assert f"no gateway answers at {url}" in result.output
    assert "Traceback" not in result.output
