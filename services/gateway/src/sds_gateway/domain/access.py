"""Who may do what in a project. Non-members see nothing (the API answers 404, not 403).

A request made with an API key acts as the key's creator, but only inside the key's project and
never above its access: a ``read`` key acts as a viewer, a ``write`` key at most as an editor (so
no key manages a project, its members or other keys). The identity dependency sets the scope of
the request being handled (``KEY_SCOPE``); ``member_role`` applies it, so every lookup honours it,
including ones added later that only pass a user id.
"""

from __future__ import annotations

from contextvars import ContextVar
from enum import StrEnum

from sds_common.auth import Identity, KeyAccess, KeyIdentity, KeyScope
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
_RANK: dict[ProjectRole, int] = {ProjectRole.VIEWER: 0, ProjectRole.EDITOR: 1, ProjectRole.OWNER: 2}
_KEY_CAP: dict[KeyAccess, ProjectRole] = {
    KeyAccess.READ: ProjectRole.VIEWER,
    KeyAccess.WRITE: ProjectRole.EDITOR,
}


#: The key scope of the request being handled; None for a person (signed proxy headers).
KEY_SCOPE: ContextVar[KeyScope | None] = ContextVar("sds_gateway_key_scope", default=None)


def scope_of(user: Identity) -> KeyScope | None:
    """The key scope ``user`` acts within, or None for a person."""
    return user.scope if isinstance(user, KeyIdentity) else None


def capped_role(role: str | None, *, project_id: str, scope: KeyScope | None) -> str | None:
    """A member's role as a request within ``scope`` may use it.

    Returns:
        ``role`` for a person; None outside the key's project; else the lower of the role and
        the key's cap (viewer for ``read``, editor for ``write``).
    """
    if scope is None or role is None:
        return role
    if project_id != scope.project_id:
        return None
    cap = _KEY_CAP[scope.access]
    return cap.value if _RANK[cap] < _RANK[ProjectRole(role)] else role


def key_allows(access: KeyAccess, need: Need) -> bool:
    """Whether a key of ``access`` may ever do ``need`` (its creator's role permitting)."""
    return _KEY_CAP[access] in _ALLOWED[need]


def authorise(role: str | None, need: Need, *, what: str) -> ProjectRole:
    """Return the member's role if it allows ``need`` on ``what``.

    Raises:
        NotFound: not a member (the resource's existence is not revealed).
        Forbidden: a member whose role (or API key) does not allow it.
    """
    if role is None:
        raise NotFound(f"{what} not found")
    member = ProjectRole(role)
    if member not in _ALLOWED[need]:
        scope = KEY_SCOPE.get()
        if scope is not None and not key_allows(scope.access, need):
            raise Forbidden(
                f"an API key with {scope.access.value} access cannot {need.value} {what}",
                code="api_key_scope",
            )
        raise Forbidden(f"the {member.value} role cannot {need.value} {what}")
    return member


def require_person(user: Identity, *, action: str) -> None:
    """Refuse ``action`` to a request made with an API key (only a signed-in person may).

    Raises:
        Forbidden: ``user`` is an API key.
    """
    if isinstance(user, KeyIdentity):
        raise Forbidden(f"an API key cannot {action}; sign in", code="api_key_not_allowed")
