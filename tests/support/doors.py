"""One running entry point (gateway, audit or llm) and a signed route of it, for tests that run
against every HTTP entry point alike."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from sds_common.auth import signed_headers
from sds_common.bus import MemoryBroker
from sds_common.events import Envelope
from tests.unit.audit.harness import ADMIN as AUDIT_ADMIN
from tests.unit.audit.harness import SECRET as AUDIT_SECRET
from tests.unit.audit.harness import running_audit
from tests.unit.gateway.harness import ALICE as GATEWAY_USER
from tests.unit.gateway.harness import SECRETS as GATEWAY_SECRETS
from tests.unit.gateway.harness import running_gateway
from tests.unit.llm.conftest import ALICE as LLM_USER
from tests.unit.llm.conftest import SECRET as LLM_SECRET
from tests.unit.llm.conftest import running_llm

SERVICES = ("gateway", "audit", "llm")
Headers = list[tuple[str, str]]


@dataclass
class Door:
    """One running service and a route of it that a signed caller may use."""

    name: str
    client: httpx.AsyncClient
    broker: MemoryBroker
    topic: Callable[[str], str]
    secret: str
    user: tuple[str, str, str]
    method: str
    path: str
    body: dict[str, Any] | None
    ok: int

    def signed(self, *, secret: str | None = None) -> Headers:
        """Fresh identity headers for the door's route."""
        headers = signed_headers(
            secret or self.secret,
            method=self.method,
            path=self.path,
            user_id=self.user[0],
            email=self.user[1],
            role=self.user[2],
        )
        return list(headers.items())

    async def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Any route of the service, signed for the door's user."""
        headers = signed_headers(
            self.secret,
            method=method,
            path=path,
            user_id=self.user[0],
            email=self.user[1],
            role=self.user[2],
        )
        return await self.client.request(method, path, headers=headers, **kwargs)

    async def send(self, headers: Headers, **kwargs: Any) -> httpx.Response:
        """The door's route with exactly ``headers`` (duplicates kept, in order)."""
        if self.body is not None:
            kwargs.setdefault("json", self.body)
        return await self.client.request(self.method, self.path, headers=headers, **kwargs)

    def refusals(self) -> list[Envelope]:
        """The ``AuthenticationFailed`` events this service published."""
        envelopes = [
            Envelope.from_bytes(m.value) for m in self.broker.messages(self.topic("access"))
        ]
        return [e for e in envelopes if e.type == "AuthenticationFailed"]


@asynccontextmanager
async def open_door(name: str, tmp_path: Path, **settings: Any) -> AsyncIterator[Door]:
    """The service ``name`` started with ``settings`` (as its environment would set them)."""
    if name == "gateway":
        async with running_gateway(tmp_path, **settings) as gw:
            yield Door(
                name=name,
                client=gw.client,
                broker=gw.broker,
                topic=gw.settings.topic,
                secret=GATEWAY_SECRETS[0],
                user=GATEWAY_USER,
                method="POST",
                path="/api/v1/projects",
                body={"name": "p"},
                ok=201,
            )
    elif name == "audit":
        async with running_audit(tmp_path, **settings) as audit:
            yield Door(
                name=name,
                client=audit.client,
                broker=audit.broker,
                topic=audit.settings.topic,
                secret=AUDIT_SECRET,
                user=AUDIT_ADMIN,
                method="GET",
                path="/api/v1/audit/verify",
                body=None,
                ok=200,
            )
    else:
        async with running_llm(tmp_path, **settings) as llm:
            yield Door(
                name=name,
                client=llm.client,
                broker=llm.broker,
                topic=llm.service.settings.topic,
                secret=LLM_SECRET,
                user=LLM_USER,
                method="POST",
                path="/api/v1/privacy/advice",
                body={"n_rows": 10_000, "n_columns": 5},
                ok=200,
            )
