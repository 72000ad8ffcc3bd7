"""A gateway assembled through its real bootstrap, in-process bus, SQLite and a tmp folder."""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from sds_common.auth import signed_headers
from sds_common.bus import MemoryBroker, OutgoingMessage, wait_until
from sds_common.events import DatasetProfiled, Envelope, Event
from sds_common.events.datasets import ColumnKind, ColumnSummary
from sds_common.runtime.service import Service, create_app
from sds_common.storage import LocalObjectStore
from sds_gateway.adapters.webhooks import WebhookParts
from sds_gateway.bootstrap import bootstrap
from sds_gateway.config import GatewaySettings

SECRETS = ("first-secret", "second-secret")
#: Rows of a harness dataset: a fifth is held out, and the 1,000 training rows pass the DP
#: policy's minimum and the default batch size.
DATASET_ROWS = 1250
ALICE = ("alice", "alice@example.com", "user")
BOB = ("bob", "bob@example.com", "user")
CAROL = ("carol", "carol@example.com", "user")


@dataclass
class Harness:
    client: httpx.AsyncClient
    broker: MemoryBroker
    storage: LocalObjectStore
    service: Service
    settings: GatewaySettings
    app: FastAPI

    async def call(
        self,
        method: str,
        path: str,
        *,
        user: tuple[str, str, str] = ALICE,
        secret: str = SECRETS[0],
        headers: dict[str, str] | None = None,
        api_key: str | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send a request signed as ``user``, or with ``api_key`` as its only credential."""
        signed = (
            {"Authorization": f"Bearer {api_key}"}
            if api_key is not None
            else signed_headers(
                secret,
                method=method,
                path=urlsplit(path).path,
                user_id=user[0],
                email=user[1],
                role=user[2],
            )
        )
        return await self.client.request(
            method, path, headers={**signed, **(headers or {})}, **kwargs
        )

    async def publish(self, event: Event, *, project_id: str | None = None) -> Envelope:
        """Put an event on the bus as another service would."""
        envelope = Envelope.wrap(event, actor="test", project_id=project_id)
        await self.broker.send_batch(
            [
                OutgoingMessage(
                    topic=self.settings.topic(event.topic),
                    key=envelope.key.encode(),
                    value=envelope.to_bytes(),
                )
            ]
        )
        return envelope

    async def until(self, predicate: Callable[[], Awaitable[bool]]) -> None:
        await wait_until(predicate, timeout_s=10)

    async def until_status(self, path: str, status: str, *, user: Any = ALICE) -> dict[str, Any]:
        """Poll ``path`` until its ``status`` is ``status``; return the body."""
        body: dict[str, Any] = {}

        async def check() -> bool:
            nonlocal body
            body = (await self.call("GET", path, user=user)).json()
            return body.get("status") == status

        await self.until(check)
        return body

    def emitted(self, topic: str, event_type: str) -> list[Envelope]:
        envelopes = [Envelope.from_bytes(m.value) for m in self.broker.messages(topic)]
        return [e for e in envelopes if e.type == event_type]

    async def create_project(self, name: str = "p", *, user: Any = ALICE) -> str:
        response = await self.call("POST", "/api/v1/projects", user=user, json={"name": name})
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def api_key(
        self, project_id: str, *, access: str = "read", user: Any = ALICE
    ) -> tuple[str, str]:
        """Create an API key as ``user``; return its id and its token."""
        response = await self.call(
            "POST",
            "/api/v1/api-keys",
            user=user,
            json={"name": f"{access} key", "project_id": project_id, "access": access},
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"]), str(response.json()["token"])

    async def add_member(
        self, project_id: str, member: Any, *, role: str = "viewer", user: Any = ALICE
    ) -> None:
        """Make ``member`` known (they sign in once) and add them to the project as ``user``."""
        seen = await self.call("GET", "/api/v1/projects", user=member)
        assert seen.status_code == 200, seen.text
        response = await self.call(
            "POST",
            f"/api/v1/projects/{project_id}/members",
            user=user,
            json={"user_id": member[0], "role": role},
        )
        assert response.status_code == 201, response.text

    async def upload(
        self,
        project_id: str,
        content: bytes = b"a,b\n1,2\n3,4\n",
        *,
        filename: str = "table.csv",
        content_type: str = "text/csv",
        user: Any = ALICE,
        **fields: str,
    ) -> httpx.Response:
        return await self.call(
            "POST",
            "/api/v1/datasets",
            user=user,
            data={"project_id": project_id, **fields},
            files={"file": (filename, io.BytesIO(content), content_type)},
        )

    async def ready_dataset(self, project_id: str, *, n_rows: int = DATASET_ROWS) -> str:
        """Upload a table and publish its profile, as the datasets service would."""
        response = await self.upload(project_id)
        assert response.status_code == 202, response.text
        dataset_id = response.json()["id"]
        await self.publish(profiled(dataset_id, n_rows=n_rows), project_id=project_id)
        await self.until_status(f"/api/v1/datasets/{dataset_id}", "ready")
        return str(dataset_id)


def profiled(
    dataset_id: str, *, n_rows: int = DATASET_ROWS, extra: Mapping[str, ColumnKind] | None = None
) -> DatasetProfiled:
    """The profile the datasets service would publish: numeric ``a`` and ``b``, then ``extra``."""
    kinds: dict[str, ColumnKind] = {"a": "numeric", "b": "numeric", **(extra or {})}
    return DatasetProfiled(
        dataset_id=uuid.UUID(dataset_id),
        n_rows=n_rows,
        n_columns=len(kinds),
        columns=tuple(
            ColumnSummary(name=name, kind=kind, missing_fraction=0.0, distinct=2)
            for name, kind in kinds.items()
        ),
        profile_key=f"datasets/{dataset_id}/profile.json",
        table_key=f"datasets/{dataset_id}/table.parquet",
        train_key=f"datasets/{dataset_id}/train.parquet",
        holdout_key=f"datasets/{dataset_id}/holdout.parquet",
        holdout_rows=n_rows // 5,
    )


@asynccontextmanager
async def running_gateway(
    tmp_path: Path,
    *,
    extend: Callable[[FastAPI, Service], None] | None = None,
    webhooks: WebhookParts | None = None,
    **overrides: Any,
) -> AsyncIterator[Harness]:
    """A started gateway; ``extend`` may add test-only routes to the app before it starts;
    ``webhooks`` replaces the webhook parts (fake sender, resolver or clock)."""
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "auth_secrets": ",".join(SECRETS),
        "outbox_poll_interval_ms": 20,
        "sse_poll_interval_s": 0.05,
        "bus_retry_backoff_ms": 1,
    }
    values.update(overrides)
    settings = GatewaySettings(**values)
    broker = MemoryBroker()
    storage = LocalObjectStore(tmp_path / "objects")
    await storage.start()
    service = bootstrap(settings, broker=broker, storage=storage, webhooks=webhooks)
    app = create_app(service)
    if extend is not None:
        extend(app, service)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield Harness(
                client=client,
                broker=broker,
                storage=storage,
                service=service,
                settings=settings,
                app=app,
            )
