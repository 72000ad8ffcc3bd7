"""Routes of the llm features under ``/api/v1``: thin, they authorise and call one handler.

Callers are checked like at every entry point (``sds_common.http.identity``: signed proxy
headers, replay protection, rate limits, refusal events). A subject is visible to the members of
its project only (admins included: like the gateway, a global role grants no access to a
project's data); anyone else gets 404, so its existence is not revealed. A request made with an
API key (verified by the gateway, which owns keys, and handed on with the key's scope) sees the
key's project only, as on the gateway's routes. Errors are problem JSON
(``sds_common.http.problems``). No database transaction is open while a provider answers: facts
are read in a short session, tokens charged in a short transaction, and the result announced in
a third.
"""

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from sds_common.auth import Identity, KeyIdentity
from sds_common.http.identity import IdentityCheck
from sds_common.http.problems import ProblemError, problem_responses
from sds_common.storage import ObjectNotFound
from sds_llm import features, handlers
from sds_llm.adapters import repository
from sds_llm.adapters.providers import Streamed
from sds_llm.adapters.providers.base import Completion
from sds_llm.adapters.repository import DatabaseUsageLedger
from sds_llm.domain.budget import BudgetExceededError
from sds_llm.domain.models import ChatTurn, DataDictionary, Explanation, PiiHints, PrivacyAdvice
from sds_llm.parts import LlmParts

ACTOR = "llm"
_PROBLEMS = problem_responses(401, 404, 409, 422, 429)


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


async def _visible(
    parts: LlmParts, *, table: str, key: str, user: Identity, what: str
) -> dict[str, Any]:
    """The subject's fact row if ``user`` is a member of its project (and, for an API key, the
    project is the key's).

    Raises:
        ProblemError: 404, whether the subject is unknown or the user may not see it.
    """
    async with parts.database.sessions() as session:
        row = await repository.load(session, table=table, key=key)
        project_id = None if row is None else row["project_id"]
        allowed = (
            project_id is not None
            and (not isinstance(user, KeyIdentity) or str(project_id) == user.scope.project_id)
            and await repository.is_member(
                session, project_id=str(project_id), user_id=user.user_id
            )
        )
    if row is None or not allowed:
        raise ProblemError(404, "not_found", f"{what} {key} not found")
    return dict(row)


def seconds_to_utc_midnight(now: datetime | None = None) -> int:
    """Seconds until the daily token budget resets (at least 1)."""
    current = now or datetime.now(UTC)
    midnight = datetime.combine(current.date() + timedelta(days=1), datetime.min.time(), UTC)
    return max(1, int((midnight - current).total_seconds()))


def _refused(exc: BudgetExceededError) -> ProblemError:
    return ProblemError(
        429,
        "llm_token_budget_exhausted",
        str(exc),
        headers={"Retry-After": str(seconds_to_utc_midnight())},
    )


def _report_gone(subject_id: UUID) -> ProblemError:
    return ProblemError(409, "report_unavailable", f"the report of {subject_id} is not available")


def router(parts: LlmParts, identity: IdentityCheck) -> APIRouter:
    """The llm routes, behind the service's identity check."""
    api = APIRouter(tags=["llm"], responses=_PROBLEMS)
    user_dep = Depends(identity)

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
            raise ProblemError(404, "not_found", f"{subject_id} not found") from None
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
            raise ProblemError(422, "validation_error", "give dataset_id, or n_rows and n_columns")
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
