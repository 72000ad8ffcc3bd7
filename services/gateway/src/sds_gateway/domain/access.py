"""Who may do what in a project. Non-members see nothing (the API answers 404, not 403)."""

from __future__ import annotations

from enum import StrEnum

from sds_gateway.domain.errors import Forbidden, NotFound


class ProjectRole(StrEnum):
    OWNER = "owner"
    EDITOR = "editor"
    VIEWER = "viewer"


class Need(StrEnum):
    READ = "read"
    WRITE = "write"
    MANAGE = "manage"


_ALLOWED: dict[Need, frozenset[ProjectRole]] = {
    Need.READ: frozenset(ProjectRole),
    Need.WRITE: frozenset({ProjectRole.OWNER, ProjectRole.EDITOR}),
    Need.MANAGE: frozenset({ProjectRole.OWNER}),
}


def authorise(role: str | None, need: Need, *, what: str) -> ProjectRole:
    """Return the member's role if it allows ``need`` on ``what``.

    Raises:
        NotFound: not a member (the resource's existence is not revealed).
        Forbidden: a member whose role does not allow it.
    """
    if role is None:
        raise NotFound(f"{what} not found")
    member = ProjectRole(role)
    if member not in _ALLOWED[need]:
        raise Forbidden(f"the {member.value} role cannot {need.value} {what}")
    return member
