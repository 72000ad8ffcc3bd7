"""Alembic environment of the llm service."""

from sds_common.db.migrations import run_env
from sds_llm.adapters.orm import metadata

run_env(metadata)
