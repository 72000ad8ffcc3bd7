"""The gateway's ``/api/v1`` routers, built from its assembled parts."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter

from sds_gateway.entrypoints import datasets, evaluations, generators, jobs, privacy, projects
from sds_gateway.entrypoints.deps import Gateway, identity_dependency


def build_routers(gateway: Gateway) -> Sequence[APIRouter]:
    """Every route of the public API; each requires a valid proxy signature."""
    current_user = identity_dependency(gateway)
    return [
        module.router(gateway, current_user)
        for module in (projects, datasets, generators, evaluations, jobs, privacy)
    ]
