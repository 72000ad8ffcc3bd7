"""Alembic environment of the trainer service."""

from sds_common.db.migrations import run_env
from sds_trainer.adapters.orm import metadata

run_env(metadata)
