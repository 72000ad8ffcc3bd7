"""Assembles the service from its spec and settings; adapters can be injected."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sds_common.runtime.service import Service, ServiceSpec
from sds_common.runtime.service import bootstrap as assemble
from sds_common.settings import Settings
from sds_evaluator import handlers
from sds_evaluator.adapters.orm import metadata
from sds_evaluator.jobs import job_kinds

SPEC = ServiceSpec(
    name="evaluator",
    metadata=metadata,
    migrations=Path(__file__).parent / "adapters" / "migrations",
    subscriptions=handlers.subscriptions,
    jobs=job_kinds,
)


def bootstrap(settings: Settings, **adapters: Any) -> Service:
    """Build the evaluator service; ``adapters`` go to ``sds_common.runtime.service.bootstrap``."""
    return assemble(SPEC, settings, **adapters)
