"""Tables owned by the llm service (no other service reads them)."""

from sqlalchemy import MetaData

from sds_common.db import add_messaging_tables

metadata = MetaData()
messaging = add_messaging_tables(metadata)
