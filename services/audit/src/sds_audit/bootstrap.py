"""Assembles the service from its spec and settings; adapters can be injected."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sds_audit import handlers
from sds_audit.adapters.orm import metadata
from sds_common.runtime.service import Service, ServiceSpec
from sds_common.runtime.service import bootstrap as assemble
from sds_common.settings import Settings

SPEC = ServiceSpec(
    name="audit",
    metadata=metadata,
    migrations=Path(__file__).parent / "adapters" / "migrations",
    subscriptions=handlers.subscriptions,
)


def bootstrap(settings: Settings, **adapters: Any) -> Service:
    """Build the audit service; ``adapters`` go to ``sds_common.runtime.service.bootstrap``."""
    return assemble(SPEC, settings, **adapters)
