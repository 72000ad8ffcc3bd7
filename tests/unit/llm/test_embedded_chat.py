"""Chat streams through the embedded studio app (gateway middleware included), unbuffered.

The whole embedded app is started; the llm service's read model is filled as its consumers
would fill it, and its provider is one that waits after its first chunk until the test has
received that chunk through the app. A buffering layer anywhere would hold the chunk back.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from asgi_lifespan import LifespanManager

from sds_common.auth import load_or_create_embedded_secret, signed_headers
from sds_llm.adapters import repository
from sds_llm.adapters.providers import Completion
from sds_llm.domain.models import Prompt
from sds_llm.parts import parts_of
from sds_studio.embedded import build_app, embedded_settings
from tests.support.asgi import AsgiStream
from tests.unit.llm.fakes import report


@dataclass
class SlowStream:
    """Sends one chunk, then waits for ``gate`` before the rest."""

    name: str = "slow"
    model: str = "slow-1"
    gate: asyncio.Event = field(default_factory=asyncio.Event)

    async def complete(
        self, prompt: Prompt, *, max_tokens: int, temperature: float, timeout_s: float
    ) -> Completion:
        raise AssertionError("chat streams")

    async def stream(
        self, prompt: Prompt, *, max_tokens: int, temperature: float, timeout_s: float
    ) -> AsyncIterator[str]:
        yield "Fidelity 0.66 "
        await self.gate.wait()
        yield "is moderate."


async def test_chat_streams_through_the_embedded_app(tmp_path: Path) -> None:
    settings = embedded_settings(data_dir=tmp_path)
    app = build_app(settings)
    async with LifespanManager(app, startup_timeout=60) as manager:
        llm = app.state.services["llm"]
        provider = SlowStream()
        parts_of(llm).assistant.provider.primary = provider
        evaluation_id = str(uuid.uuid4())
        report_key = f"evaluations/{evaluation_id}/report.json"
        await llm.storage.put_bytes(report_key, json.dumps(report()).encode())
        async with llm.database.unit_of_work(actor="test") as uow:
            await repository.upsert(
                uow.session,
                table="evaluations",
                key="evaluation_id",
                values={
                    "evaluation_id": evaluation_id,
                    "project_id": "p1",
                    "synthetic_dataset_id": str(uuid.uuid4()),
                    "generator_id": str(uuid.uuid4()),
                    "report_key": report_key,
                    "scores": report()["scores"],
                },
            )
            await repository.apply_membership(
                uow.session, project_id="p1", user_id="alice", role="owner", at=datetime.now(UTC)
            )

        path = "/api/v1/chat"
        headers = signed_headers(
            load_or_create_embedded_secret(settings.data_dir),
            method="POST",
            path=path,
            user_id="alice",
            email="alice@example.com",
            role="user",
        )
        stream = AsgiStream(
            manager.app,
            method="POST",
            path=path,
            headers={**headers, "content-type": "application/json"},
            body=json.dumps({"evaluation_id": evaluation_id, "question": "Good?"}).encode(),
        )
        try:
            await stream.start()
            assert stream.status == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            received = b""
            while b"Fidelity 0.66" not in received:
                received += await stream.chunk(timeout_s=5)
            assert b'"provider": "slow"' in received
            assert not provider.gate.is_set()  # the answer is not finished, yet it arrived
            provider.gate.set()
            rest = await stream.rest()
        finally:
            await stream.close()
    assert b'data: {"text": "is moderate."}' in rest
    assert rest.endswith(b"event: done\ndata: {}\n\n")
