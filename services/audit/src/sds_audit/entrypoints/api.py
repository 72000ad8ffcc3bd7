"""Routes of ``/audit``: the log, its export, trails, verification, checkpoints (admin only),
and each generator's compliance outputs (privacy report and model card as JSON, HTML or PDF),
which admins and the members of the generator's project may read (see
:mod:`sds_audit.domain.access`); anyone else is told the generator is unknown. Callers are
checked like at every entry point (``sds_common.http.identity``: replay protection, rate limits,
refusal events); errors are problem JSON (``sds_common.http.problems``).
"""

import asyncio
from datetime import datetime
from typing import Annotated, Literal, TypeVar

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import HTMLResponse, StreamingResponse

from sds_audit import handlers, queries, reports
from sds_audit.domain.compliance import ModelCard, PrivacyReport
from sds_audit.entrypoints.deps import AuditApi, admin_dependency
from sds_audit.entrypoints.schemas import (
    AuditPage,
    AuditRecord,
    CheckpointOut,
    ResourceType,
    Trail,
    VerifyOut,
)
from sds_audit.rendering.document import Document, model_card_document, privacy_report_document
from sds_audit.rendering.html import render_html
from sds_audit.rendering.pdf import render_pdf
from sds_common.auth import Identity
from sds_common.http.problems import ProblemError, problem_responses

MAX_LIMIT = 1000


def router(parts: AuditApi) -> APIRouter:
    """The audit routes; each requires a validly signed identity (role ``admin`` for the log)."""
    api = APIRouter(
        prefix="/audit", tags=["audit"], responses=problem_responses(401, 403, 422, 429)
    )
    admin = Depends(admin_dependency(parts.identity))
    # Any identity the entry-point check admits; the routes then apply who may read what.
    reader = Depends(parts.identity)
    audit = parts.audit

    @api.get(
        "/events",
        response_model=AuditPage,
        responses={200: {"content": {"text/csv": {}}}},
        summary="List audit records in log order (JSON page, or the whole selection as CSV)",
    )
    async def list_events(
        _admin: Annotated[Identity, admin],
        *,
        actor: Annotated[str | None, Query(description="user id or service name")] = None,
        project_id: str | None = None,
        resource_type: ResourceType | None = None,
        resource_id: str | None = None,
        event_type: str | None = None,
        since: Annotated[datetime | None, Query(description="occurred at or after")] = None,
        until: Annotated[datetime | None, Query(description="occurred before")] = None,
        cursor: Annotated[int, Query(ge=0, description="seq of the last record seen")] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
        output: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
    ) -> AuditPage | StreamingResponse:
        where = queries.EventFilter(
            actor=actor,
            project_id=project_id,
            resource_type=resource_type,
            resource_id=resource_id,
            event_type=event_type,
            since=since,
            until=until,
        )
        if output == "csv":
            return StreamingResponse(
                queries.csv_export(audit.database, where, after=cursor),
                media_type="text/csv",
                headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
            )
        async with audit.database.sessions() as session:
            records = await queries.list_records(session, where, after=cursor, limit=limit)
        return AuditPage(
            items=[AuditRecord.of(record) for record in records],
            next_cursor=records[-1].seq if len(records) == limit else None,
        )

    @api.get("/verify", summary="Verify the whole hash chain and the signed checkpoints")
    async def verify(_admin: Annotated[Identity, admin]) -> VerifyOut:
        return VerifyOut.of(await handlers.verify_log(audit))

    @api.get(
        "/generators/{generator_id}/trail",
        summary="Every record of one generator's life: dataset, budget, training, samples, ...",
    )
    async def generator_trail(generator_id: str, _admin: Annotated[Identity, admin]) -> Trail:
        async with audit.database.sessions() as session:
            records = await queries.generator_trail(session, generator_id)
        return Trail(generator_id=generator_id, items=[AuditRecord.of(r) for r in records])

    @api.get(
        "/generators/{generator_id}/privacy-report",
        response_model=PrivacyReport,
        responses={
            **problem_responses(404),
            200: {"content": {"text/html": {}, "application/pdf": {}}},
        },
        summary="A generator's privacy report: guarantee, budget, risks, GDPR/HIPAA, trail",
    )
    async def privacy_report(
        generator_id: str,
        user: Annotated[Identity, reader],
        output: Annotated[OutputFormat, Query(alias="format")] = "json",
    ) -> PrivacyReport | Response:
        if not await reports.may_read(audit, user, generator_id):
            raise _unknown(generator_id)
        report = await reports.generator_privacy_report(audit, generator_id)
        if report is None:
            raise _unknown(generator_id)
        return await _render(
            report, privacy_report_document(report), output, name=f"privacy-report-{generator_id}"
        )

    @api.get(
        "/generators/{generator_id}/model-card",
        response_model=ModelCard,
        responses={
            **problem_responses(404),
            200: {"content": {"text/html": {}, "application/pdf": {}}},
        },
        summary="A generator's model card: details, training data, privacy, evaluation, use",
    )
    async def model_card(
        generator_id: str,
        user: Annotated[Identity, reader],
        output: Annotated[OutputFormat, Query(alias="format")] = "json",
    ) -> ModelCard | Response:
        if not await reports.may_read(audit, user, generator_id):
            raise _unknown(generator_id)
        card = await reports.generator_model_card(audit, generator_id)
        if card is None:
            raise _unknown(generator_id)
        return await _render(
            card, model_card_document(card), output, name=f"model-card-{generator_id}"
        )

    @api.post(
        "/checkpoints",
        status_code=201,
        responses=problem_responses(409),
        summary="Sign the current chain head now",
    )
    async def checkpoint(user: Annotated[Identity, admin]) -> CheckpointOut:
        signed = await handlers.create_checkpoint(audit, actor=user.user_id)
        if signed is None:
            raise ProblemError(409, "empty_log", "the audit log is empty: nothing to sign")
        return CheckpointOut.of(signed)

    return api


OutputFormat = Literal["json", "html", "pdf"]
Output = TypeVar("Output", PrivacyReport, ModelCard)


def _unknown(generator_id: str) -> ProblemError:
    return ProblemError(
        404, "unknown_generator", f"the audit log has no record of generator {generator_id}"
    )


async def _render(
    content: Output, document: Document, output: OutputFormat, *, name: str
) -> Output | Response:
    """``content`` as JSON, or its document as self-contained HTML or as a PDF attachment."""
    if output == "json":
        return content
    if output == "html":
        return HTMLResponse(render_html(document))
    pdf = await asyncio.to_thread(render_pdf, document)  # reportlab is CPU-bound
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'},
    )
