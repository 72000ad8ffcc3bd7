"""Who may read a generator's compliance outputs: admins, and the members of its project.

Project membership lives in the gateway; the audit log records every change of it
(``ProjectMembershipChanged``, a project's creator and its deletion included) and every deleted
account (``AccountDeleted``), so the log itself says who is a member, with no copy of the
gateway's tables. Changes apply in the order they occurred, not the order they arrived: a late
duplicate or an older change changes nothing, and an account deletion ends every membership that
began before it (the llm service follows the same rule).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from sds_audit.domain.chain import ChainRecord, as_utc

MEMBERSHIP_CHANGED: Final = "ProjectMembershipChanged"
ACCOUNT_DELETED: Final = "AccountDeleted"
MEMBERSHIP_EVENTS: Final = (MEMBERSHIP_CHANGED, ACCOUNT_DELETED)


def role_in(project_id: str, records: Iterable[ChainRecord]) -> str | None:
    """The role one user's membership records leave them in ``project_id`` (None: no member).

    Args:
        project_id: the project asked about.
        records: the user's ``ProjectMembershipChanged`` and ``AccountDeleted`` records, in any
            order (those of other projects are ignored).
    """

    def occurred(record: ChainRecord) -> tuple[object, ...]:
        # At the same instant a deletion comes last: it wins over a membership change.
        return (as_utc(record.occurred_at), record.event_type == ACCOUNT_DELETED, record.seq)

    role: str | None = None
    for record in sorted(records, key=occurred):
        if record.event_type == ACCOUNT_DELETED:
            role = None
        elif record.event_type == MEMBERSHIP_CHANGED and record.project_id == project_id:
            value = record.payload.get("role")
            role = value if isinstance(value, str) else None
    return role
