"""``/ready`` tells the truth in the embedded runtime too (findings 12 and 13 of issue 16).

The in-process broker answers the same readiness question as Kafka does (is it running now?),
a consumer whose task ended is not ready, and neither is a service whose job runner died.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager

from sds_common.bus import MemoryBroker
from sds_common.runtime.service import Service, bootstrap, create_app
from sds_datasets.bootstrap import SPEC as DATASETS
from sds_evaluator.bootstrap import SPEC as EVALUATOR
from sds_studio.embedded import embedded_settings


class Stack:
    def __init__(self, client: httpx.AsyncClient, broker: MemoryBroker, services: list[Service]):
        self.client = client
        self.broker = broker
        self.services = {service.name: service for service in services}

    async def failing(self) -> list[str]:
        response = await self.client.get("/ready")
        body = response.json()
        assert (response.status_code == 200) == (body["status"] == "ok")
        return list(body.get("failing", []))


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    settings = embedded_settings(data_dir=tmp_path)
    broker = MemoryBroker()
    services = [bootstrap(spec, settings, broker=broker) for spec in (DATASETS, EVALUATOR)]
    app = create_app(*services)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://studio") as client:
            yield Stack(client, broker, services)


async def test_ready_follows_the_in_process_broker(stack: Stack) -> None:
    assert await stack.failing() == []
    await stack.broker.stop()
    assert await stack.failing() == ["datasets.consumer", "evaluator.consumer"]
    await stack.broker.start()
    assert await stack.failing() == []


async def test_a_consumer_whose_task_ended_is_not_ready(stack: Stack) -> None:
    messaging = stack.services["datasets"].messaging
    assert messaging is not None
    assert messaging.consumer is not None
    await messaging.consumer.stop()  # whatever ended it, nothing consumes any more
    assert await stack.failing() == ["datasets.consumer"]


async def test_a_dead_job_runner_is_not_ready(stack: Stack) -> None:
    runner = stack.services["evaluator"].jobs
    assert runner is not None
    assert await stack.failing() == []
    loop = runner._tasks[0]
    loop.cancel()  # whatever killed it, the loop is gone
    await asyncio.wait([loop])
    assert await stack.failing() == ["evaluator.jobs"]
