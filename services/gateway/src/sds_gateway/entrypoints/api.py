"""The gateway's ``/api/v1`` routers, built from its assembled parts."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter
from fastapi.routing import APIRoute

from sds_gateway.entrypoints import (
    api_keys,
    datasets,
    declarations,
    evaluations,
    generators,
    jobs,
    me,
    members,
    privacy,
    projects,
    proxy,
    webhooks,
)
from sds_gateway.entrypoints.deps import Gateway, identity_dependency
from sds_gateway.entrypoints.problems import problem_responses


def build_routers(gateway: Gateway) -> Sequence[APIRouter]:
    """Every route of the public API; each requires a valid proxy signature.

    The distributed gateway also forwards the audit and llm routes to their services
    (``entrypoints.proxy``, when ``SDS_UPSTREAM_*`` name them).
    """
    current_user = identity_dependency(gateway)
    routers = [
        module.router(gateway, current_user)
        for module in (projects, datasets, generators, evaluations, jobs, privacy, webhooks)
    ]
    routers.append(declarations.router(gateway, current_user))
    routers += [module.router(gateway, current_user) for module in (members, api_keys, me)]
    _document_limits(routers)
    forwarded = proxy.router(gateway.settings, current_user)
    return routers if forwarded is None else [*routers, forwarded]


def _document_limits(routers: Sequence[APIRouter]) -> None:
    """Every route may answer 429 (rate limit); one with a body 413 (body limit)."""
    too_many, too_large = problem_responses(429), problem_responses(413)
    for router in routers:
        for route in router.routes:
            if isinstance(route, APIRoute):
                route.responses = {**too_many, **route.responses}
                if route.body_field is not None:
                    route.responses = {**too_large, **route.responses}
