"""An async HTTP client of the gateway that signs every request like the BetterAuth proxy does."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx

from sds_common.auth import signed_headers

TERMINAL = frozenset({"succeeded", "failed", "cancelled", "ready", "rejected", "deleted"})


class StudioError(Exception):
    """The gateway refused a request; ``detail`` is its explanation."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail


class StudioClient:
    """Talks to ``/api/v1`` as one user.

    Args:
        base_url: the gateway, e.g. ``http://127.0.0.1:8000``.
        secret: the proxy secret the gateway trusts.
        user_id: who acts.
        email: their email.
        role: ``user`` or ``admin``.
        timeout_s: per-request timeout.
        transport: how requests reach the gateway (default: the network; tests pass an
            in-process ASGI transport).
    """

    def __init__(
        self,
        base_url: str,
        *,
        secret: str,
        user_id: str = "local-user",
        email: str = "local-user@localhost",
        role: str = "user",
        timeout_s: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._secret = secret
        self._user_id, self._email, self._role = user_id, email, role
        self._http = httpx.AsyncClient(base_url=base_url, timeout=timeout_s, transport=transport)

    async def __aenter__(self) -> StudioClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._http.aclose()

    def _headers(self, method: str, path: str) -> dict[str, str]:
        return signed_headers(
            self._secret,
            method=method,
            path=path,
            user_id=self._user_id,
            email=self._email,
            role=self._role,
        )

    async def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send a signed request to ``/api/v1{path}``; returns the JSON body."""
        full = f"/api/v1{path}"
        # The signature covers the path only: the gateway verifies against the URL's path.
        signed = full.split("?", 1)[0]
        headers = {**kwargs.pop("headers", {}), **self._headers(method, signed)}
        response = await self._http.request(method, full, headers=headers, **kwargs)
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {"code": "http_error", "detail": response.text[:500]}
            raise StudioError(response.status_code, body.get("code", "?"), body.get("detail", ""))
        return response.json() if response.content else None

    # ------------------------------------------------------------------ resources

    async def create_project(self, name: str) -> dict[str, Any]:
        """Create a project owned by this user."""
        result: dict[str, Any] = await self.call("POST", "/projects", json={"name": name})
        return result

    async def upload(
        self,
        path: Path,
        *,
        project_id: str,
        name: str | None = None,
        target: str | None = None,
        source: str | None = None,
    ) -> dict[str, Any]:
        """Upload a table (streamed from disk); uploads of one ``source`` share one budget."""
        data = {"project_id": project_id, "name": name or path.stem}
        if target:
            data["target_column"] = target
        if source:
            data["source"] = source
        with path.open("rb") as handle:
            result: dict[str, Any] = await self.call(
                "POST", "/datasets", data=data, files={"file": (path.name, handle)}
            )
        return result

    async def train(
        self,
        dataset_id: str,
        *,
        method: str = "auto",
        epsilon: float | None = 1.0,
        params: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Ask for a generator."""
        body: dict[str, Any] = {"dataset_id": dataset_id, "method": method, "params": params or {}}
        if epsilon is not None:
            body["privacy"] = {"epsilon": epsilon}
        else:
            body["allow_non_dp"] = True
        result: dict[str, Any] = await self.call("POST", "/generators", json=body)
        return result

    async def sample(
        self, generator_id: str, *, rows: int | None = None, seed: int | None = None
    ) -> dict[str, Any]:
        """Ask a trained generator for rows."""
        body: dict[str, Any] = {}
        if rows is not None:
            body["rows"] = rows
        if seed is not None:
            body["seed"] = seed
        result: dict[str, Any] = await self.call(
            "POST", f"/generators/{generator_id}/samples", json=body
        )
        return result

    async def get(self, path: str) -> dict[str, Any]:
        """GET a resource."""
        result: dict[str, Any] = await self.call("GET", path)
        return result

    async def download(self, path: str, destination: Path) -> Path:
        """Stream a file (synthetic data, report) to ``destination``."""
        full = f"/api/v1{path.split('?', 1)[0]}"
        query = path.split("?", 1)[1] if "?" in path else ""
        url = f"{full}?{query}" if query else full
        destination.parent.mkdir(parents=True, exist_ok=True)
        async with self._http.stream("GET", url, headers=self._headers("GET", full)) as response:
            if response.status_code >= 400:
                await response.aread()
                raise StudioError(response.status_code, "download_failed", response.text[:500])
            with destination.open("wb") as out:
                async for chunk in response.aiter_bytes():
                    out.write(chunk)
        return destination

    # ------------------------------------------------------------------ progress

    async def events(
        self, job_id: str, *, last_event_id: int | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """Follow a job's Server-Sent Events until the job is final (resumes on disconnect)."""
        full = f"/api/v1/jobs/{job_id}/events"
        last = last_event_id
        while True:
            headers = self._headers("GET", full)
            if last is not None:
                headers["Last-Event-ID"] = str(last)
            try:
                async with self._http.stream(
                    "GET", full, headers=headers, timeout=None
                ) as response:
                    if response.status_code >= 400:
                        await response.aread()
                        raise StudioError(
                            response.status_code, "events_failed", response.text[:500]
                        )
                    async for event in _parse_sse(response.aiter_lines()):
                        if event.get("id") is not None:
                            last = int(event["id"])
                        yield event
            except httpx.TransportError:
                continue  # reconnect with Last-Event-ID: nothing is lost
            return  # the server ends the stream once the job is final

    async def wait(
        self,
        path: str,
        *,
        until: frozenset[str] = TERMINAL,
        on_update: Callable[[dict[str, Any]], None] | None = None,
        job_id: str | None = None,
    ) -> dict[str, Any]:
        """Follow a resource's job until it is final, then return the resource."""
        resource = await self.get(path)
        if resource.get("status") in until:
            return resource
        job = job_id or (resource.get("job") or {}).get("id") or resource["id"]
        async for event in self.events(job):
            if on_update is not None:
                on_update(event)
        return await self.get(path)


async def _parse_sse(lines: AsyncIterator[str]) -> AsyncIterator[dict[str, Any]]:
    event: dict[str, Any] = {}
    async for line in lines:
        if not line:
            if "data" in event:
                event["data"] = json.loads(event["data"])
                yield event
            event = {}
        elif line.startswith(":"):
            continue  # heartbeat comment
        else:
            field, _, value = line.partition(":")
            event[field] = value.removeprefix(" ")
