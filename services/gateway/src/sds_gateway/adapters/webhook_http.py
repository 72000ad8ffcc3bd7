"""Sending webhook requests: resolve and check the target, then POST to the checked address.

The host is resolved and every address checked (``domain.webhook_targets``) right before each
attempt, and the request goes to the address that passed, with the original ``Host`` header and
TLS server name: a DNS answer that changes between the check and the connection (DNS rebinding)
cannot redirect the request. Redirects are never followed, proxies from the environment are not
used, and the response body is not read.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import httpx

from sds_gateway.domain.webhook_targets import (
    AllowList,
    IPAddress,
    Target,
    TargetRefusedError,
    check_host_name,
    choose_address,
    parse_target,
)

Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]
USER_AGENT = "SyntheticDataStudio-Webhooks/1"


async def system_resolver(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (both families), in the resolver's order.

    Raises:
        TargetRefusedError: the name does not resolve.
    """
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise TargetRefusedError(f"cannot resolve {host}: {exc}") from None
    addresses: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


@dataclass(frozen=True, slots=True)
class PinnedTarget:
    """A checked target: where to connect, and what to tell the server."""

    target: Target
    address: IPAddress

    @property
    def url(self) -> str:
        """The request URL, with the checked address in place of the host."""
        host = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        return f"{self.target.scheme}://{host}:{self.target.port}{self.target.path}"


@dataclass(frozen=True)
class TargetPolicy:
    """Checks webhook URLs against the SSRF rules and the operator's allow-list."""

    allow: AllowList = field(default_factory=AllowList)
    resolver: Resolver = system_resolver

    async def check(self, url: str) -> PinnedTarget:
        """Parse, resolve and check ``url``; return the address to connect to.

        Raises:
            TargetRefusedError: the URL, its host or one of its addresses is refused.
        """
        target = parse_target(url)
        check_host_name(target, self.allow)
        if target.address is not None:
            addresses = [target.address]
        else:
            addresses = await self.resolver(target.host, target.port)
        return PinnedTarget(target=target, address=choose_address(target, addresses, self.allow))


@dataclass(frozen=True, slots=True)
class SendResult:
    """What one attempt got: a status code, or the error that prevented one."""

    status_code: int | None
    error: str | None
    latency_ms: float

    @property
    def ok(self) -> bool:
        """Whether the receiver accepted the message (any 2xx)."""
        return self.status_code is not None and 200 <= self.status_code < 300


class Sender(Protocol):
    """Sends one signed webhook request."""

    async def send(
        self, target: PinnedTarget, *, headers: Mapping[str, str], body: bytes, timeout_s: float
    ) -> SendResult:
        """POST ``body`` to ``target``; never raises for a network or HTTP failure."""
        ...


class HttpSender:
    """Sends with httpx, one connection per attempt (never pooled across host names)."""

    async def send(
        self, target: PinnedTarget, *, headers: Mapping[str, str], body: bytes, timeout_s: float
    ) -> SendResult:
        """POST ``body`` to the pinned address; see ``Sender.send``."""
        started = time.perf_counter()
        request_headers = {
            **headers,
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "host": target.target.host_header,
        }
        extensions = {"sni_hostname": target.target.host} if target.target.scheme == "https" else {}
        try:
            async with (
                asyncio.timeout(timeout_s),
                httpx.AsyncClient(
                    timeout=timeout_s, follow_redirects=False, trust_env=False
                ) as client,
                client.stream(
                    "POST",
                    target.url,
                    headers=request_headers,
                    content=body,
                    extensions=extensions,
                ) as response,
            ):
                status: int | None = response.status_code
                error = None if 200 <= response.status_code < 300 else f"HTTP {status}"
        except TimeoutError:
            status, error = None, f"timed out after {timeout_s:g} s"
        except httpx.HTTPError as exc:
            status, error = None, f"{type(exc).__name__}: {exc}"[:500]
        return SendResult(
            status_code=status, error=error, latency_ms=(time.perf_counter() - started) * 1000
        )


__all__ = [
    "HttpSender",
    "PinnedTarget",
    "Resolver",
    "SendResult",
    "Sender",
    "TargetPolicy",
    "TargetRefusedError",
    "system_resolver",
]
