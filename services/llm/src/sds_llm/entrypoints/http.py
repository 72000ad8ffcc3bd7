"""Routes of the llm features under ``/api/v1``: thin, they authorise and call one handler.

Callers prove who they are with the signed proxy headers (``sds_common.auth``). A subject is
visible to the members of its project only (admins included: like the gateway, a global role
grants no access to a project's data); anyone else gets 404, so its existence is not revealed.
Errors are problem JSON (:mod:`.problems`). No database transaction is open while a provider
answers: facts are read in a short session, tokens charged in a short transaction, and the
result announced in a third.
"""

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any, Literal
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from sds_common.auth import AuthError, Identity, verify
from sds_common.storage import ObjectNotFound
from sds_llm import features, handlers
from sds_llm.adapters import repository
from sds_llm.adapters.providers import Streamed
from sds_llm.adapters.providers.base import Completion
from sds_llm.adapters.repository import DatabaseUsageLedger
from sds_llm.domain.budget import BudgetExceededError
from sds_llm.domain.models import ChatTurn, DataDictionary, Explanation, PiiHints, PrivacyAdvice
from sds_llm.entrypoints.problems import LlmHTTPError, ProblemRoute, seconds_to_utc_midnight
from sds_llm.parts import LlmParts

log = logging.getLogger(__name__)
ACTOR = "llm"
_PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {"content": {"application/problem+json": {}}} for status in (401, 404, 409, 422, 429)
}


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AdviceRequest(_Body):
    """Either a known dataset, or the table's size."""

    use: str = Field(default="analytics", max_length=200, examples=["ML training", "analytics"])
    dataset_id: UUID | None = None
    n_rows: int | None = Field(default=None, ge=1)
    n_columns: int | None = Field(default=None, ge=1)


class Turn(_Body):
    role: Literal["user", "assistant"]
    content: str = Field(max_length=4000)


class ChatRequest(_Body):
    evaluation_id: UUID
    question: str = Field(min_length=1, max_length=2000)
    history: list[Turn] = Field(default_factory=list, max_length=20)


def _identity(parts: LlmParts) -> Callable[[Request], Awaitable[Identity]]:
    async def current_user(request: Request) -> Identity:
        try:
            return verify(
                request.headers,
                secrets=parts.secrets(),
                method=request.method,
                path=request.url.path,
            )
        except AuthError as exc:
            log.warning("request refused: %s %s: %s", request.method, request.url.path, exc.reason)
            raise LlmHTTPError(
                401, "not_authenticated", f"authentication failed: {exc.reason}"
            ) from None

    return current_user


async def _visible(
    parts: LlmParts, *, table: str, key: str, user: Identity, what: str
) -> dict[str, Any]:
    """The subject's fact row if ``user`` is a member of its project.

    Raises:
        LlmHTTPError: 404, whether the subject is unknown or the user is not a member.
    """
    async with parts.database.sessions() as session:
        row = await repository.load(session, table=table, key=key)
        allowed = (
            row is not None
            and row["project_id"] is not None
            and await repository.is_member(
                session, project_id=str(row["project_id"]), user_id=user.user_id
            )
        )
    if row is None or not allowed:
        raise LlmHTTPError(404, "not_found", f"{what} {key} not found")
    return dict(row)


def _refused(exc: BudgetExceededError) -> LlmHTTPError:
    return LlmHTTPError(
        429,
        "llm_token_budget_exhausted",
        str(exc),
        headers={"Retry-After": str(seconds_to_utc_midnight())},
    )


def _report_gone(subject_id: UUID) -> LlmHTTPError:
    return LlmHTTPError(409, "report_unavailable", f"the report of {subject_id} is not available")


def router(parts: LlmParts) -> APIRouter:
    """The llm routes."""
    api = APIRouter(tags=["llm"], route_class=ProblemRoute, responses=_PROBLEMS)
    user_dep = Depends(_identity(parts))

    async def explained(
        *, kind: Any, subject: dict[str, Any], subject_id: UUID, user: Identity, **extra: Any
    ) -> Any:
        project_id = subject["project_id"]
        try:
            result = await handlers.generate(
                parts,
                kind=kind,
                subject_id=subject_id,
                project_id=project_id,
                ledger=DatabaseUsageLedger(parts.database),
                **extra,
            )
        except BudgetExceededError as exc:
            raise _refused(exc) from None
        except ObjectNotFound:
            raise _report_gone(subject_id) from None
        except handlers.UnknownSubjectError:  # deleted between the check and the read
            raise LlmHTTPError(404, "not_found", f"{subject_id} not found") from None
        async with parts.database.unit_of_work(actor=user.user_id) as uow:
            await handlers.publish(
                parts,
                uow,
                explanation_id=uuid4(),
                kind=kind,
                subject_id=subject_id,
                result=result,
                project_id=project_id,
            )
        return result

    @api.post("/evaluations/{evaluation_id}/explanation", summary="Explain an evaluation")
    async def explain(evaluation_id: UUID, user: Annotated[Identity, user_dep]) -> Explanation:
        row = await _visible(
            parts, table="evaluations", key=str(evaluation_id), user=user, what="evaluation"
        )
        result: Explanation = await explained(
            kind="evaluation", subject=row, subject_id=evaluation_id, user=user
        )
        return result

    @api.post("/datasets/{dataset_id}/data-dictionary", summary="Data dictionary of a dataset")
    async def data_dictionary(
        dataset_id: UUID, user: Annotated[Identity, user_dep]
    ) -> DataDictionary:
        row = await _visible(
            parts, table="datasets", key=str(dataset_id), user=user, what="dataset"
        )
        result: DataDictionary = await explained(
            kind="data_dictionary", subject=row, subject_id=dataset_id, user=user
        )
        return result

    @api.post("/datasets/{dataset_id}/pii-hints", summary="Name-based PII hints")
    async def pii_hints(dataset_id: UUID, user: Annotated[Identity, user_dep]) -> PiiHints:
        row = await _visible(
            parts, table="datasets", key=str(dataset_id), user=user, what="dataset"
        )
        result: PiiHints = await explained(
            kind="pii_hints", subject=row, subject_id=dataset_id, user=user
        )
        return result

    @api.post("/privacy/advice", summary="Privacy settings for a target use")
    async def advice(body: AdviceRequest, user: Annotated[Identity, user_dep]) -> PrivacyAdvice:
        if body.dataset_id is not None:
            row = await _visible(
                parts, table="datasets", key=str(body.dataset_id), user=user, what="dataset"
            )
            result: PrivacyAdvice = await explained(
                kind="privacy_advice",
                subject=row,
                subject_id=body.dataset_id,
                user=user,
                use=body.use,
            )
            return result
        if body.n_rows is None or body.n_columns is None:
            raise LlmHTTPError(422, "validation_error", "give dataset_id, or n_rows and n_columns")
        try:
            # Not about a project's data: the caller's own budget pays.
            return await features.privacy_advice(
                n_rows=body.n_rows,
                columns=None,
                n_columns=body.n_columns,
                use=body.use,
                assistant=parts.assistant,
                project_id=f"user:{user.user_id}",
                ledger=DatabaseUsageLedger(parts.database),
            )
        except BudgetExceededError as exc:
            raise _refused(exc) from None

    @api.post(
        "/chat",
        summary="Ask about an evaluation (answer streamed as text/event-stream)",
        response_class=StreamingResponse,
    )
    async def chat(body: ChatRequest, user: Annotated[Identity, user_dep]) -> StreamingResponse:
        row = await _visible(
            parts, table="evaluations", key=str(body.evaluation_id), user=user, what="evaluation"
        )
        project_id = row["project_id"]
        try:
            await parts.assistant.check_budget(
                project_id=project_id, ledger=DatabaseUsageLedger(parts.database)
            )
            report = await features.load_report(parts.storage, str(row["report_key"]))
        except BudgetExceededError as exc:
            raise _refused(exc) from None
        except ObjectNotFound:
            raise _report_gone(body.evaluation_id) from None

        streamed = await features.chat(
            report,
            question=body.question,
            history=[ChatTurn(role=t.role, content=t.content) for t in body.history],
            assistant=parts.assistant,
            on_done=_charger(parts, project_id=project_id),
        )
        return StreamingResponse(
            _sse(streamed),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return api


def _charger(parts: LlmParts, *, project_id: str | None) -> Callable[[Completion], Awaitable[None]]:
    """Records a streamed answer's tokens once it is complete (after the response started)."""

    async def charge(completion: Completion) -> None:
        await parts.assistant.charge(
            project_id=project_id, ledger=DatabaseUsageLedger(parts.database), completion=completion
        )

    return charge


async def _sse(streamed: Streamed) -> AsyncIterator[str]:
    """Server-sent events: ``meta`` (provider, degraded), one ``data`` per chunk, ``done``."""
    meta = {
        "provider": streamed.provider,
        "model": streamed.model,
        "degraded": streamed.degraded,
        "degraded_reason": streamed.degraded_reason,
    }
    yield f"event: meta\ndata: {json.dumps(meta)}\n\n"
    async for chunk in streamed.chunks:
        yield f"data: {json.dumps({'text': chunk}, ensure_ascii=False)}\n\n"
    yield "event: done\ndata: {}\n\n"
