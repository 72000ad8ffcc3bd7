"""Finding 13 of issue 16: ``/ready`` follows the broker, not a flag set at the first join.

With Kafka down for 30 s every service answered 200 ``consumer: ok``. Here a service runs on a
Kafka broker of its own (the shared one must never be stopped); the broker is stopped, and
``/ready`` must answer 503 within 10 s, then 200 again once the broker is back.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager

from sds_common.runtime.service import create_app
from sds_common.settings import Settings
from sds_datasets.bootstrap import bootstrap
from tests.support.outages import PrivateKafka, kafka_jars

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

#: The issue's target: a stopped broker shows within this long.
UNREADY_WITHIN_S = 10.0


@pytest.fixture(scope="module")
def private_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateKafka]:
    jars = kafka_jars()
    if jars is None:
        message = "java, flock and the Kafka jars (scripts/services/kafka.sh prepare) are needed"
        if os.environ.get("REQUIRE_SERVICES", "") not in ("", "0", "false"):
            pytest.fail(message)
        pytest.skip(message)
    broker = PrivateKafka(tmp_path_factory.mktemp("kafka"), jars=jars)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


async def _ready(client: httpx.AsyncClient) -> tuple[int, dict[str, object]]:
    response = await client.get("/ready")
    return response.status_code, response.json()


async def _until_status(client: httpx.AsyncClient, status: int, *, deadline: float) -> dict:
    body: dict[str, object] = {}
    while time.monotonic() < deadline:
        code, body = await _ready(client)
        if code == status:
            return body
        await asyncio.sleep(0.25)
    raise AssertionError(f"/ready never answered {status}: {body}")


async def test_ready_follows_the_broker(
    private_kafka: PrivateKafka, tmp_path: Path, unique_name: str
) -> None:
    settings = Settings.model_validate(
        {
            "bus": "kafka",
            "kafka_bootstrap_servers": private_kafka.bootstrap,
            "topic_prefix": f"{unique_name}.",
            "data_dir": tmp_path,
        }
    )
    app = create_app(bootstrap(settings))
    async with LifespanManager(app, startup_timeout=120, shutdown_timeout=120) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
            await _until_status(client, 200, deadline=time.monotonic() + 60)

            stopped_at = time.monotonic()
            await asyncio.to_thread(private_kafka.stop)
            body = await _until_status(client, 503, deadline=stopped_at + UNREADY_WITHIN_S)
            assert body["failing"] == ["datasets.consumer"], body

            await asyncio.to_thread(private_kafka.start)
            body = await _until_status(client, 200, deadline=time.monotonic() + 60)
            assert body["checks"]["datasets.consumer"] == {"status": "ok"}
