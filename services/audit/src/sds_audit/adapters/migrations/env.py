"""Alembic environment of the audit service."""

from sds_audit.adapters.orm import metadata
from sds_common.db.migrations import run_env

run_env(metadata)
