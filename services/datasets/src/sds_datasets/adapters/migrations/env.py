"""Alembic environment of the datasets service."""

from sds_common.db.migrations import run_env
from sds_datasets.adapters.orm import metadata

run_env(metadata)
