"""A ``Database`` whose connections can be cut, to test what survives a database outage."""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any

from sqlalchemy import MetaData, Select
from sqlalchemy.ext.asyncio import AsyncSession

from sds_common.db import Database, create_engine


class DatabaseDownError(ConnectionRefusedError):
    """What every database call raises while the outage lasts (like a refused connection)."""


class _Session:
    """Opens the real session unless the database is down."""

    def __init__(self, database: FlakyDatabase) -> None:
        self._database = database
        self._session: AsyncSession | None = None

    async def __aenter__(self) -> AsyncSession:
        self._database.check()
        self._session = self._database.real_sessions()
        return await self._session.__aenter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._session is not None
        await self._session.__aexit__(exc_type, exc, tb)


class FlakyDatabase(Database):
    """A SQLite-file database; while ``down`` is set every session and read is refused."""

    def __init__(self, *, url: str, metadata: MetaData) -> None:
        # Reads go through sessions here, so that an outage reaches them too.
        super().__init__(engine=create_engine(url), metadata=metadata, inline_reads=False)
        self.real_sessions = self.sessions
        self.sessions = lambda: _Session(self)  # type: ignore[assignment]
        self.down = False
        self.refused = 0

    def check(self) -> None:
        """Raise while the database is down (counting the refusals)."""
        if self.down:
            self.refused += 1
            raise DatabaseDownError("the database is down")

    async def fetch_one(
        self, statement: Select[Any], params: Mapping[str, Any] | None = None
    ) -> Mapping[str, Any] | None:
        """Refused while down; otherwise the real read."""
        self.check()
        return await super().fetch_one(statement, params)
