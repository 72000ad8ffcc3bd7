"""Routes of ``/datasets``: streamed uploads, lists, profiles, privacy budget."""

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from sds_common.auth import Identity
from sds_common.storage import ObjectNotFound
from sds_gateway import queries
from sds_gateway.adapters.multipart import MultipartReader
from sds_gateway.adapters.orm import datasets
from sds_gateway.commands import datasets as commands
from sds_gateway.domain.access import Need
from sds_gateway.domain.errors import Conflict, NotFound, PayloadTooLarge
from sds_gateway.domain.pagination import DEFAULT_LIMIT, MAX_LIMIT
from sds_gateway.domain.status import DatasetStatus
from sds_gateway.entrypoints.deps import Gateway
from sds_gateway.entrypoints.problems import ProblemRoute, problem_responses
from sds_gateway.schemas.common import Page
from sds_gateway.schemas.datasets import Dataset, PrivacyBudget
from sds_gateway.views import dataset_view, fetch_visible, load_visible

#: Room for the multipart envelope and text fields around the file itself.
FORM_OVERHEAD_BYTES = 256 * 1024

UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["project_id", "file"],
                    "properties": {
                        "project_id": {"type": "string", "format": "uuid"},
                        "name": {"type": "string", "description": "default: the file name"},
                        "target_column": {"type": "string"},
                        "columns": {
                            "type": "string",
                            "description": (
                                "JSON object of per-column overrides: "
                                '{"case_id": {"kind": "identifier"}, '
                                '"answer": {"missing_markers": ["NA"]}}'
                            ),
                        },
                        "source": {
                            "type": "string",
                            "maxLength": 100,
                            "description": (
                                "the population this table describes, as a short printable "
                                "label: uploads of one project with the same source share one "
                                "privacy budget (uploads of the same bytes always do)"
                            ),
                        },
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "CSV, TSV, Parquet or JSON Lines; send it last",
                        },
                    },
                }
            }
        },
    }
}


def router(gateway: Gateway, current_user: Callable[[Request], Awaitable[Identity]]) -> APIRouter:
    """The datasets routes."""
    api = APIRouter(
        prefix="/datasets",
        tags=["datasets"],
        route_class=ProblemRoute,
        responses=problem_responses(401, 404, 422),
    )
    user_dep = Depends(current_user)

    @api.post(
        "",
        status_code=202,
        openapi_extra=UPLOAD_BODY,
        responses=problem_responses(403, 413, 415),
        summary="Upload a table (multipart; streamed to storage, validated asynchronously)",
    )
    async def upload(request: Request, user: Annotated[Identity, user_dep]) -> Dataset:
        limit = gateway.settings.max_upload_bytes
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit + FORM_OVERHEAD_BYTES:
            raise PayloadTooLarge(
                f"the upload ({int(declared)} bytes) is larger than the limit of {limit} bytes",
                code="upload_too_large",
            )
        form = MultipartReader(
            request.stream(), content_type=request.headers.get("content-type", "")
        )
        return await commands.upload_dataset(
            database=gateway.database,
            storage=gateway.storage,
            user=user,
            form=form,
            max_bytes=limit,
        )

    @api.get("", summary="List datasets (newest first)")
    async def list_datasets(
        user: Annotated[Identity, user_dep],
        project_id: str | None = None,
        status: DatasetStatus | None = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> Page[Dataset]:
        async with gateway.database.reads() as session:
            return await queries.list_datasets(
                session,
                user,
                project_id=project_id,
                status=status.value if status else None,
                limit=limit,
                cursor=cursor,
            )

    @api.get("/{dataset_id}", summary="Get a dataset")
    async def get_dataset(dataset_id: str, user: Annotated[Identity, user_dep]) -> Dataset:
        row, _ = await fetch_visible(
            gateway.database, datasets, row_id=dataset_id, user=user, need=Need.READ, what="dataset"
        )
        return dataset_view(row)

    @api.delete(
        "/{dataset_id}",
        status_code=204,
        responses=problem_responses(403),
        summary="Delete a dataset (emits DatasetDeleted)",
    )
    async def delete_dataset(dataset_id: str, user: Annotated[Identity, user_dep]) -> Response:
        await commands.delete_dataset(
            database=gateway.database, storage=gateway.storage, user=user, dataset_id=dataset_id
        )
        return Response(status_code=204)

    @api.get(
        "/{dataset_id}/profile",
        responses={
            200: {"content": {"application/json": {}}, "description": "the full profile"},
            **problem_responses(409),
        },
        summary="The dataset's statistical profile (once ready)",
    )
    async def get_profile(dataset_id: str, user: Annotated[Identity, user_dep]) -> Response:
        async with gateway.database.reads() as session:
            row, _ = await load_visible(
                session, datasets, row_id=dataset_id, user=user, need=Need.READ, what="dataset"
            )
        if row["status"] == DatasetStatus.DELETED:
            raise NotFound("dataset not found")
        if row["status"] != DatasetStatus.READY or not row["profile_key"]:
            detail = f"dataset {dataset_id} is {row['status']}; its profile exists once ready"
            if row["error_message"]:
                detail += f" (rejected: {row['error_message']})"
            raise Conflict(detail, code="dataset_not_ready")
        try:
            content = await gateway.storage.get_bytes(row["profile_key"])
        except ObjectNotFound:
            raise NotFound("the dataset's profile is no longer stored") from None
        return Response(content=content, media_type="application/json")

    @api.get("/{dataset_id}/privacy-budget", summary="The dataset's privacy-budget ledger")
    async def get_budget(dataset_id: str, user: Annotated[Identity, user_dep]) -> PrivacyBudget:
        async with gateway.database.reads() as session:
            return await queries.privacy_budget(
                session,
                user,
                dataset_id=dataset_id,
                budget_epsilon=gateway.settings.trainer_epsilon_budget,
            )

    return api
