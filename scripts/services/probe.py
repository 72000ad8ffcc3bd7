"""Dependency-free readiness probes for Kafka and S3, used by scripts/services/*.sh.

Python stdlib only: it runs before the workspace venv exists (``make services`` in a fresh clone).
Exit status 0 means the service answers a real request, not just that a port is open.

    python3 probe.py kafka 127.0.0.1:59092
    python3 probe.py s3 http://127.0.0.1:59000 ACCESS SECRET
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import socket
import struct
import sys
import urllib.error
import urllib.request
from urllib.parse import urlsplit

TIMEOUT_S = 5.0


def _kafka_request(sock: socket.socket, api_key: int, version: int, body: bytes) -> bytes:
    client_id = b"sds-probe"
    header = struct.pack(">hhih", api_key, version, 1, len(client_id)) + client_id
    frame = header + body
    sock.sendall(struct.pack(">i", len(frame)) + frame)
    (size,) = struct.unpack(">i", _recv_exactly(sock, 4))
    return _recv_exactly(sock, size)


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise ConnectionError("broker closed the connection")
        chunks += chunk
    return bytes(chunks)


def probe_kafka(bootstrap: str) -> None:
    """Metadata request (v4, non-flexible): the broker lists itself once it has joined."""
    host, _, port = bootstrap.rpartition(":")
    with socket.create_connection((host, int(port)), timeout=TIMEOUT_S) as sock:
        sock.settimeout(TIMEOUT_S)
        # topics = null (all), allow_auto_topic_creation = false
        reply = _kafka_request(sock, 3, 4, struct.pack(">i?", -1, False))
    _correlation, _throttle, brokers = struct.unpack(">iii", reply[:12])
    if brokers < 1:
        raise RuntimeError("broker answered but lists no brokers yet")


def _sign_v4(url: str, access: str, secret: str) -> dict[str, str]:
    parts = urlsplit(url)
    now = dt.datetime.now(dt.UTC)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    payload_hash = hashlib.sha256(b"").hexdigest()
    headers = {"host": parts.netloc, "x-amz-content-sha256": payload_hash, "x-amz-date": amz_date}
    signed = ";".join(sorted(headers))
    canonical = "\n".join(
        [
            "GET",
            parts.path or "/",
            "",
            "".join(f"{k}:{headers[k]}\n" for k in sorted(headers)),
            signed,
            payload_hash,
        ]
    )
    scope = f"{day}/us-east-1/s3/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = f"AWS4{secret}".encode()
    for part in (day, "us-east-1", "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={access}/{scope}, "
        f"SignedHeaders={signed}, Signature={signature}"
    )
    return headers


def probe_s3(endpoint: str, access: str, secret: str) -> None:
    """Signed ListBuckets: the server answers AND accepts our credentials."""
    url = endpoint.rstrip("/") + "/"
    request = urllib.request.Request(url, headers=_sign_v4(url, access, secret))
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
        body = response.read()
    if b"ListAllMyBucketsResult" not in body:
        raise RuntimeError(f"unexpected S3 answer: {body[:200]!r}")


def main(argv: list[str]) -> int:
    try:
        if argv[:1] == ["kafka"]:
            probe_kafka(argv[1])
        elif argv[:1] == ["s3"]:
            probe_s3(argv[1], argv[2], argv[3])
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except (OSError, RuntimeError, struct.error, urllib.error.URLError) as exc:
        print(f"probe {argv[0]} failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
