"""Telling a database outage from a bug: the first is a 503 to retry, the second a 500 to fix.

What an outage looks like from the application depends on the moment it hits: a pooled connection
that breaks mid-statement arrives as SQLAlchemy's ``DBAPIError`` with ``connection_invalidated``
(over the driver's "connection does not exist", SQLSTATE class 08); opening a new connection while
the server is down raises the socket's ``ConnectionRefusedError`` (or a DNS error, or a timeout)
straight out of the driver; a server that is starting or shutting down answers SQLSTATE 57P0x; an
exhausted pool raises SQLAlchemy's ``TimeoutError``. ``database_outage`` recognises each of these,
following the exception's causes, and nothing else: a constraint violation or a bad query stays an
error of ours.
"""

from __future__ import annotations

import socket
from types import TracebackType
from typing import Final

from sqlalchemy import exc as sa_exc

#: Seconds a client is told to wait before trying again (``Retry-After``).
RETRY_AFTER_S: Final = 5
#: SQLSTATEs of an unavailable server: the connection-exception class (08...), admin or crash
#: shutdown and "cannot connect now" (57P01-57P03), too many connections (53300).
_UNAVAILABLE_STATES: Final = frozenset({"57P01", "57P02", "57P03", "53300"})
_DRIVERS: Final = ("asyncpg", "aiosqlite", "sqlalchemy")
_MAX_CHAIN: Final = 16


def database_outage(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) says the database cannot be reached right now.

    Args:
        exc: an exception a request ended with.

    Returns:
        True for a broken or refused connection, an unavailable server or an exhausted pool.
    """
    current: BaseException | None = exc
    for _ in range(_MAX_CHAIN):
        if current is None:
            return False
        if _unavailable(current):
            return True
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    return False


def _unavailable(exc: BaseException) -> bool:
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, sa_exc.DisconnectionError | sa_exc.TimeoutError):
        return True
    sqlstate = getattr(exc, "sqlstate", None)
    if isinstance(sqlstate, str) and (sqlstate.startswith("08") or sqlstate in _UNAVAILABLE_STATES):
        return True
    # A socket error counts only when the database driver raised it (opening a connection):
    # the same error from another client is that client's to report.
    network = isinstance(exc, ConnectionError | TimeoutError | socket.gaierror)
    return network and _raised_in_driver(exc.__traceback__)


def _raised_in_driver(traceback: TracebackType | None) -> bool:
    while traceback is not None:
        module = str(traceback.tb_frame.f_globals.get("__name__", ""))
        if module.split(".", 1)[0] in _DRIVERS:
            return True
        traceback = traceback.tb_next
    return False
