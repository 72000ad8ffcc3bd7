"""Point reads of a SQLite file on the calling thread, without SQLAlchemy's execution machinery.

The hot path of a GET reads a row or two by key. Through aiosqlite each statement is handed to a
worker thread and back several times (cursor, execute, fetch, close, the transaction); through a
SQLAlchemy connection each one still builds a connection, a context and a result around a
query that SQLite answers in ten microseconds. Here a statement is compiled once, by SQLAlchemy
for the SQLite dialect, and then run on one ``sqlite3`` connection with the column types' own
result processors, so values come back exactly as SQLAlchemy would return them (datetimes, JSON,
numbers). ``benchmarks/gateway.py`` measures the difference.

The connection may only read (``query_only``) and never waits for a lock (``busy_timeout=0``): it
runs on the event loop, so a read that would have to wait raises ``InlineReadError`` and the
caller reads the asynchronous way instead. In WAL mode that only happens while another
connection recovers the WAL index or resets it, never because of an ordinary writer.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Select
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Dialect

#: Statements are compiled once each; a caller that builds a new statement per call would fill
#: the cache, so past this many it compiles each call instead (correct, only slower).
MAX_PREPARED: Final = 64


class InlineReadError(Exception):
    """This read cannot run inline (busy database, another thread, unsupported statement)."""


@dataclass(frozen=True)
class _Prepared:
    sql: str
    binds: tuple[tuple[str, Any, Callable[[Any], Any] | None], ...]  # name, default, processor
    columns: tuple[tuple[str, Callable[[Any], Any] | None], ...]  # key, result processor


class InlineReader:
    """Runs single SELECTs on a SQLite file in the calling thread.

    Args:
        path: the database file (the one the service's async engine uses).
    """

    def __init__(self, path: str) -> None:
        self._path = path
        self._dialect: Dialect = sqlite_dialect.dialect()
        self._connection: sqlite3.Connection | None = None
        self._thread: int | None = None
        self._prepared: dict[int, tuple[Select[Any], _Prepared]] = {}

    def fetch_one(
        self, statement: Select[Any], params: Mapping[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """Run ``statement`` with ``params`` in its own snapshot; return its first row, if any.

        Raises:
            InlineReadError: the database is busy, the statement cannot be prepared here, or
                the call comes from a thread other than the one that opened the connection.
        """
        prepared = self._prepare(statement)
        values = []
        for name, default, process in prepared.binds:
            value = params[name] if params is not None and name in params else default
            values.append(process(value) if process is not None else value)
        try:
            # Autocommit mode: the one SELECT is its own read transaction, one snapshot.
            row = self._connect().execute(prepared.sql, values).fetchone()
        except sqlite3.OperationalError as exc:
            raise InlineReadError(str(exc)) from exc
        if row is None:
            return None
        return {
            key: process(value) if process is not None and value is not None else value
            for (key, process), value in zip(prepared.columns, row, strict=True)
        }

    def close(self) -> None:
        """Close the connection (reopened on the next read)."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None
            self._thread = None

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            # mode=rw: a read never creates the file (the migrations do, through the engine).
            uri = f"file:{urllib.parse.quote(os.path.abspath(self._path))}?mode=rw"
            try:
                connection = sqlite3.connect(
                    uri, uri=True, isolation_level=None, check_same_thread=False
                )
            except sqlite3.OperationalError as exc:
                raise InlineReadError(str(exc)) from exc
            connection.execute("PRAGMA query_only=1")
            connection.execute("PRAGMA busy_timeout=0")
            self._connection, self._thread = connection, threading.get_ident()
        elif self._thread != threading.get_ident():
            # One connection, used without locking: only by the thread (event loop) that made it.
            raise InlineReadError("the inline connection belongs to another thread")
        return self._connection

    def _prepare(self, statement: Select[Any]) -> _Prepared:
        cached = self._prepared.get(id(statement))
        if cached is not None and cached[0] is statement:
            return cached[1]
        if not isinstance(statement, Select):
            raise InlineReadError("only a SELECT runs inline")
        compiled = statement.compile(dialect=self._dialect)
        sql = str(compiled)
        names = compiled.positiontup or []
        keys = [column.key for column in statement.selected_columns]
        if "POSTCOMPILE" in sql or len(set(keys)) != len(keys):
            raise InlineReadError("statement needs SQLAlchemy's execution (expanding binds)")
        binds = tuple(
            (
                name,
                compiled.binds[name].effective_value,
                compiled.binds[name].type.dialect_impl(self._dialect).bind_processor(self._dialect),
            )
            for name in names
        )
        columns = tuple(
            (
                str(column.key),
                column.type.dialect_impl(self._dialect).result_processor(self._dialect, None),
            )
            for column in statement.selected_columns
        )
        prepared = _Prepared(sql=sql, binds=binds, columns=columns)
        if len(self._prepared) < MAX_PREPARED:
            self._prepared[id(statement)] = (statement, prepared)
        return prepared
