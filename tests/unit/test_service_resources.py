"""A service's own resources (``ServiceSpec.lifespan``) and a job table under another name."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

from sqlalchemy import MetaData

from sds_common.jobs import add_job_table
from sds_common.runtime.service import Service
from sds_common.runtime.service import bootstrap as assemble
from sds_gateway.bootstrap import SPEC
from sds_gateway.config import GatewaySettings


async def test_resources_live_between_migration_and_shutdown(tmp_path: Path) -> None:
    seen: list[tuple[str, bool, bool]] = []

    @asynccontextmanager
    async def resources(service: Service) -> AsyncIterator[None]:
        # Entered before the consumer and the jobs start; left after both stopped.
        seen.append(("enter", service.messaging is None, service.jobs is None))
        yield
        seen.append(("exit", service.messaging is None, service.jobs is None))

    settings = GatewaySettings(data_dir=tmp_path, auth_secrets="s")
    service = assemble(replace(SPEC, lifespan=resources), settings)
    await service.start()
    assert service.jobs is not None  # the gateway's webhook deliveries
    assert seen == [("enter", True, True)]
    await service.stop()
    assert seen == [("enter", True, True), ("exit", True, True)]


def test_a_job_table_can_take_another_name() -> None:
    metadata = MetaData()
    own = add_job_table(metadata, name="background_jobs")
    assert add_job_table(metadata, name="background_jobs") is own
    assert {index.name for index in own.indexes} == {"ix_background_jobs_status"}
    assert add_job_table(metadata) is not own  # the default name is still "jobs"
    assert set(metadata.tables) == {"background_jobs", "jobs"}
