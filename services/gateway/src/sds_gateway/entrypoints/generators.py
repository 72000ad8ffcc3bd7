"""Routes of ``/generators`` and ``/synthetic-datasets``."""

import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse

from sds_common.auth import Identity
from sds_common.privacy import PolicyLimits
from sds_gateway import queries
from sds_gateway.adapters.exports import parquet_as_csv, parquet_in_source_types
from sds_gateway.adapters.orm import generators, synthetic_datasets
from sds_gateway.commands import pipeline
from sds_gateway.domain.access import Need
from sds_gateway.domain.errors import Conflict
from sds_gateway.domain.formulas import neutralise_formulas
from sds_gateway.domain.pagination import DEFAULT_LIMIT, MAX_LIMIT
from sds_gateway.domain.status import RunStatus
from sds_gateway.entrypoints.deps import Gateway
from sds_gateway.entrypoints.problems import ProblemRoute, problem_responses
from sds_gateway.schemas.common import Page
from sds_gateway.schemas.pipeline import Generator, GeneratorCreate, SampleCreate, SyntheticDataset
from sds_gateway.views import generator_view, load_visible, synthetic_view


def router(gateway: Gateway, current_user: Callable[[Request], Awaitable[Identity]]) -> APIRouter:
    """The generators and synthetic-datasets routes."""
    api = APIRouter(route_class=ProblemRoute, responses=problem_responses(401, 404, 422))
    user_dep = Depends(current_user)

    @api.post(
        "/generators",
        status_code=202,
        tags=["generators"],
        responses=problem_responses(403, 409),
        summary="Train a generator on a ready dataset (emits TrainingRequested)",
    )
    async def create_generator(
        body: GeneratorCreate, user: Annotated[Identity, user_dep]
    ) -> Generator:
        return await pipeline.request_training(
            gateway.database,
            user,
            body,
            limits=PolicyLimits(epsilon_cap=gateway.settings.trainer_epsilon_cap),
            budget_epsilon=gateway.settings.trainer_epsilon_budget,
        )

    @api.get("/generators", tags=["generators"], summary="List generators (newest first)")
    async def list_generators(
        *,
        user: Annotated[Identity, user_dep],
        dataset_id: str | None = None,
        project_id: str | None = None,
        status: RunStatus | None = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> Page[Generator]:
        async with gateway.database.sessions() as session:
            return await queries.list_generators(
                session,
                user,
                project_id=project_id,
                dataset_id=dataset_id,
                status=status.value if status else None,
                limit=limit,
                cursor=cursor,
            )

    @api.get("/generators/{generator_id}", tags=["generators"], summary="Get a generator")
    async def get_generator(generator_id: str, user: Annotated[Identity, user_dep]) -> Generator:
        async with gateway.database.sessions() as session:
            row, _ = await load_visible(
                session,
                generators,
                row_id=generator_id,
                user=user,
                need=Need.READ,
                what="generator",
            )
        return generator_view(row)

    @api.get(
        "/generators/{generator_id}/fit-report",
        tags=["generators"],
        responses=problem_responses(409),
        summary="What the training released and chose (the trainer's fit report, JSON)",
        description=(
            "The trainer's report of a finished training: the (ε, δ) spent and every "
            "preprocessing step with how it was covered (public metadata or a DP mechanism and "
            "its share of ε), what `auto` picked and why (`choice`), and per column how the "
            "synthetic column is made (`columns`: identifiers regenerated, rows written as "
            "`(other)` and why, released ranges). Readable by the generator's project."
        ),
    )
    async def fit_report(generator_id: str, user: Annotated[Identity, user_dep]) -> JSONResponse:
        async with gateway.database.sessions() as session:
            row, _ = await load_visible(
                session,
                generators,
                row_id=generator_id,
                user=user,
                need=Need.READ,
                what="generator",
            )
        key = row["privacy_report_key"]
        if row["status"] != RunStatus.SUCCEEDED or not key:
            raise Conflict(
                f"generator {generator_id} is {row['status']}; its report comes with the model",
                code="generator_not_ready",
            )
        return JSONResponse(json.loads(await gateway.storage.get_bytes(str(key))))

    @api.post(
        "/generators/{generator_id}/cancel",
        status_code=202,
        tags=["generators"],
        responses=problem_responses(403, 409),
        summary="Ask the trainer to stop (emits TrainingCancelRequested)",
    )
    async def cancel_generator(generator_id: str, user: Annotated[Identity, user_dep]) -> Generator:
        return await pipeline.cancel_training(gateway.database, user, generator_id=generator_id)

    @api.post(
        "/generators/{generator_id}/samples",
        status_code=202,
        tags=["synthetic datasets"],
        responses=problem_responses(403, 409),
        summary="Sample synthetic data from a trained generator (emits GenerationRequested)",
    )
    async def create_samples(
        generator_id: str,
        user: Annotated[Identity, user_dep],
        body: SampleCreate | None = None,
    ) -> SyntheticDataset:
        return await pipeline.request_samples(
            gateway.database, user, generator_id=generator_id, request=body or SampleCreate()
        )

    @api.get(
        "/synthetic-datasets/{synthetic_id}",
        tags=["synthetic datasets"],
        summary="Get a synthetic dataset",
    )
    async def get_synthetic(
        synthetic_id: str, user: Annotated[Identity, user_dep]
    ) -> SyntheticDataset:
        async with gateway.database.sessions() as session:
            row, _ = await load_visible(
                session,
                synthetic_datasets,
                row_id=synthetic_id,
                user=user,
                need=Need.READ,
                what="synthetic dataset",
            )
        return synthetic_view(row)

    @api.get(
        "/synthetic-datasets/{synthetic_id}/download",
        tags=["synthetic datasets"],
        response_class=StreamingResponse,
        responses={
            200: {
                "description": "the synthetic table",
                "content": {"text/csv": {}, "application/vnd.apache.parquet": {}},
            },
            **problem_responses(409),
        },
        summary="Download synthetic data as CSV or Parquet (streamed)",
    )
    async def download(
        synthetic_id: str,
        user: Annotated[Identity, user_dep],
        file_format: Annotated[Literal["csv", "parquet"], Query(alias="format")] = "csv",
        raw: Annotated[
            bool,
            Query(
                description=(
                    "CSV only: give every cell verbatim. By default a cell a spreadsheet would "
                    "run as a formula (=, +, -, @ first, also after leading blanks, or a "
                    "leading tab or CR; plain numbers excepted) gets a leading `'`, header "
                    "cells too. Parquet is always as generated."
                )
            ),
        ] = False,
    ) -> StreamingResponse:
        download = await pipeline.authorise_download(
            gateway.database, user, synthetic_id=synthetic_id, file_format=file_format
        )
        filename = f"synthetic-{synthetic_id}.{file_format}"
        headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
        if file_format == "parquet":
            return StreamingResponse(
                parquet_in_source_types(gateway.storage, download.key, formats=download.formats),
                media_type="application/vnd.apache.parquet",
                headers=headers,
            )
        return StreamingResponse(
            parquet_as_csv(
                gateway.storage,
                download.key,
                formats=download.formats,
                steps=() if raw else (neutralise_formulas,),
            ),
            media_type="text/csv; charset=utf-8",
            headers=headers,
        )

    return api
