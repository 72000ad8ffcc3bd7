"""Which URLs a webhook may target: public http(s) addresses, or what an operator allows.

A webhook makes the gateway send requests to an address a user chose, so the address is checked
like any request forgery vector: only ``http``/``https``, no credentials in the URL, and every
address the host resolves to must be public: loopback, private, link-local, multicast, reserved,
unique-local IPv6, cloud metadata addresses (and IPv4 hidden inside IPv6: mapped, NAT64, 6to4,
Teredo) are refused. Numeric host spellings (``2130706433``, ``0x7f000001``, ``0177.0.0.1``,
``127.1``) are read the way the C resolver reads them, so they cannot sneak past as names.

An operator allow-list (host names and CIDR blocks) lifts the refusal for chosen targets, e.g. a
receiver on the same private network. Resolving names is I/O and lives in the adapters; this
module only decides.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from sds_gateway.domain.errors import Invalid

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_URL_LENGTH = 2048
DEFAULT_PORTS = {"http": 80, "https": 443}

# Metadata services some clouds expose on addresses the generic classes do not all cover.
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "192.0.0.192", "100.100.100.200", "fd00:ec2::254")
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_UNIQUE_LOCAL = ipaddress.ip_network("fc00::/7")
_LOCAL_NAMES = ("localhost", "localhost.localdomain")


class TargetRefusedError(Invalid):
    """The webhook URL is not one the gateway will send requests to."""

    code = "webhook_target_refused"


@dataclass(frozen=True, slots=True)
class Target:
    """A parsed webhook URL.

    Attributes:
        scheme: ``http`` or ``https``.
        host: the host as written (lowercase; IDNA-encoded; IPv6 without brackets).
        port: explicit or the scheme's default.
        path: path and query, sent as written (``/`` when empty).
        address: the host when it is a numeric address, in any spelling; else None.
    """

    scheme: str
    host: str
    port: int
    path: str
    address: IPAddress | None

    @property
    def host_header(self) -> str:
        """The ``Host`` header value (the port only when not the scheme's default)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if DEFAULT_PORTS[self.scheme] == self.port else f"{host}:{self.port}"


def parse_target(url: str) -> Target:
    """Check the form of a webhook URL.

    Raises:
        TargetRefusedError: not an absolute http(s) URL with a host, or with credentials.
    """
    if len(url) > MAX_URL_LENGTH:
        raise TargetRefusedError(f"a webhook URL has at most {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise TargetRefusedError(f"not a valid URL: {exc}") from None
    if parts.scheme not in DEFAULT_PORTS:
        raise TargetRefusedError("a webhook URL must use http or https")
    if parts.username is not None or parts.password is not None:
        raise TargetRefusedError("a webhook URL must not carry credentials")
    host = _host(parts)
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(
        scheme=parts.scheme,
        host=host,
        port=port if port is not None else DEFAULT_PORTS[parts.scheme],
        path=path,
        address=numeric_address(host),
    )


def _host(parts: SplitResult) -> str:
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise TargetRefusedError("a webhook URL needs a host")
    if host.isascii():
        return host.lower()
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        raise TargetRefusedError(f"not a valid host name: {host!r}") from None


def numeric_address(host: str) -> IPAddress | None:
    """The address a numeric host names, in any spelling the C resolver accepts, else None."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        # inet_aton reads decimal, hex and octal parts and short forms (127.1) like resolvers.
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    inner: list[ipaddress.IPv4Address] = []
    if address.ipv4_mapped is not None:
        inner.append(address.ipv4_mapped)
    if address in _NAT64:
        inner.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    if address.sixtofour is not None:
        inner.append(address.sixtofour)
    if address.teredo is not None:
        inner.extend(address.teredo)
    return inner


def refusal(address: IPAddress) -> str | None:
    """Why ``address`` is not a public unicast address, or None when it is."""
    if isinstance(address, ipaddress.IPv6Address):
        for inner in _embedded_ipv4(address):
            reason = refusal(inner)
            if reason is not None:
                return f"{reason} (inside the IPv6 address)"
        if address in _UNIQUE_LOCAL and address not in METADATA_ADDRESSES:
            return "a unique-local IPv6 address"
    checks = (
        (address in METADATA_ADDRESSES, "a cloud metadata address"),
        (address.is_loopback, "a loopback address"),
        (address.is_unspecified, "the unspecified address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address.is_reserved, "a reserved address"),
        (address.is_private, "a private address"),
        (not address.is_global, "not a public address"),
    )
    return next((reason for refused, reason in checks if refused), None)


@dataclass(frozen=True, slots=True)
class AllowList:
    """Targets an operator permits even though they are not public.

    Attributes:
        hosts: host names allowed whatever they resolve to.
        networks: address blocks allowed (a single address is a /32 or /128).
    """

    hosts: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AllowList:
        """Read ``SDS_WEBHOOK_ALLOWED_TARGETS`` entries: host names, addresses, CIDR blocks.

        Raises:
            ValueError: an entry is neither a host name nor an address block.
        """
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for raw in entries:
            entry = raw.strip().lower().rstrip(".")
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            if "/" in entry or not all(
                label and (label.replace("-", "").isalnum()) for label in entry.split(".")
            ):
                raise ValueError(f"not a host name, address or CIDR block: {raw!r}")
            hosts.add(entry)
        return cls(hosts=frozenset(hosts), networks=tuple(networks))

    def allows_host(self, host: str) -> bool:
        """Whether ``host`` is allowed by name."""
        return host in self.hosts

    def allows_address(self, address: IPAddress) -> bool:
        """Whether ``address`` falls in an allowed block."""
        return any(address in network for network in self.networks)


def check_host_name(target: Target, allow: AllowList) -> None:
    """Refuse local-only names before resolving them (unless allowed by name).

    Raises:
        TargetRefusedError: ``localhost`` or a ``.localhost`` name.
    """
    if allow.allows_host(target.host) or target.address is not None:
        return
    if target.host in _LOCAL_NAMES or target.host.endswith(".localhost"):
        raise TargetRefusedError(f"{target.host} is a local name")


def choose_address(target: Target, addresses: Sequence[IPAddress], allow: AllowList) -> IPAddress:
    """The address to connect to, once every address the host resolves to passed the check.

    A host allowed by name may resolve to anything; otherwise one refused address refuses the
    whole host (a name with both a public and a private address is an attack, not a mistake).

    Raises:
        TargetRefusedError: no address, or one that is neither public nor allowed.
    """
    if not addresses:
        raise TargetRefusedError(f"{target.host} does not resolve to any address")
    if not allow.allows_host(target.host):
        for address in addresses:
            reason = refusal(address)
            if reason is not None and not allow.allows_address(address):
                raise TargetRefusedError(
                    f"{target.host} resolves to {address}, {reason}; "
                    "an operator may allow it with SDS_WEBHOOK_ALLOWED_TARGETS"
                )
    return addresses[0]
