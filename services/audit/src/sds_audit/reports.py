"""Compliance outputs of one generator: its trail, a fresh verification, then the documents."""

from __future__ import annotations

from dataclasses import dataclass

from sds_audit import handlers, queries
from sds_audit.domain.access import role_in
from sds_audit.domain.compliance import (
    Integrity,
    ModelCard,
    PrivacyReport,
    integrity,
    privacy_report,
)
from sds_audit.domain.model_card import model_card
from sds_audit.domain.report import GeneratorHistory, generator_history
from sds_audit.handlers import AuditLog
from sds_common.auth import Identity, KeyIdentity


@dataclass(frozen=True)
class Evidence:
    """What the outputs are built from: the generator's history and how intact its log is."""

    history: GeneratorHistory
    integrity: Integrity


async def may_read(audit: AuditLog, user: Identity, generator_id: str) -> bool:
    """Whether ``user`` may read the generator's privacy report and model card.

    Admins may read every one; anyone else only those of a project they are a member of (in
    any role), as the log's membership records say. An API key acts as its creator inside its
    one project, never as an admin.
    """
    scope = user.scope.project_id if isinstance(user, KeyIdentity) else None
    if user.is_admin and scope is None:
        return True
    async with audit.database.sessions() as session:
        project_id = await queries.generator_project(session, generator_id)
        if project_id is None or scope not in (None, project_id):
            return False
        records = await queries.membership_records(session, user_id=user.user_id)
    return role_in(project_id, records) is not None


async def evidence(audit: AuditLog, generator_id: str) -> Evidence | None:
    """The generator's history and the log's integrity; None for a generator never recorded.

    The whole chain is verified (a report must not rest on a tampered log), and each record of
    the trail is checked against its own hash.
    """
    async with audit.database.sessions() as session:
        trail = await queries.generator_trail(session, generator_id)
    history = generator_history(generator_id, trail)
    if history is None:
        return None
    verified = await handlers.verify_log(audit)
    broken = [record.seq for record in trail if record.computed_hash() != record.hash]
    checked = integrity(
        verified.result, trail_broken=broken, trail_records=len(trail), verified_at=audit.clock()
    )
    return Evidence(history=history, integrity=checked)


async def generator_privacy_report(audit: AuditLog, generator_id: str) -> PrivacyReport | None:
    """The privacy report of ``generator_id`` (None: never recorded)."""
    found = await evidence(audit, generator_id)
    if found is None:
        return None
    return privacy_report(found.history, checked=found.integrity, generated_at=audit.clock())


async def generator_model_card(audit: AuditLog, generator_id: str) -> ModelCard | None:
    """The model card of ``generator_id`` (None: never recorded)."""
    found = await evidence(audit, generator_id)
    if found is None:
        return None
    return model_card(found.history, checked=found.integrity, generated_at=audit.clock())
