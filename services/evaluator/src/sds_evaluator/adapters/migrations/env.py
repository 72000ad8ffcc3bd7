"""Alembic environment of the evaluator service."""

from sds_common.db.migrations import run_env
from sds_evaluator.adapters.orm import metadata

run_env(metadata)
