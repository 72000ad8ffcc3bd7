"""Compliance outputs of one generator: its trail, a fresh verification, then the documents."""

from __future__ import annotations

from dataclasses import dataclass

from sds_audit import handlers, queries
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


@dataclass(frozen=True)
class Evidence:
    """What the outputs are built from: the generator's history and how intact its log is."""

    history: GeneratorHistory
    integrity: Integrity


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
