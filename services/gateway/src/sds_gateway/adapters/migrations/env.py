"""Alembic environment of the gateway service."""

from sds_common.db.migrations import run_env
from sds_gateway.adapters.orm import metadata

run_env(metadata)
