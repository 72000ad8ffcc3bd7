"""Database helpers: engines, the unit of work, outbox and inbox tables."""

from sds_common.db.engine import create_engine, ensure_schema, is_sqlite
from sds_common.db.messaging import MessagingTables, add_messaging_tables
from sds_common.db.uow import Database, UnitOfWork, decode_headers, encode_headers

__all__ = [
    "Database",
    "MessagingTables",
    "UnitOfWork",
    "add_messaging_tables",
    "create_engine",
    "decode_headers",
    "encode_headers",
    "ensure_schema",
    "is_sqlite",
]
