"""Webhook rules without I/O: signatures, sealed secrets, retry schedule, targets (SSRF)."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from sds_gateway.adapters.secret_box import SecretBox, SecretBoxError
from sds_gateway.adapters.webhook_http import PinnedTarget, Resolver, TargetPolicy
from sds_gateway.config import GatewaySettings
from sds_gateway.domain.errors import Invalid
from sds_gateway.domain.webhook_signing import generate_secret, secret_key, sign, signed_headers
from sds_gateway.domain.webhook_targets import (
    AllowList,
    IPAddress,
    TargetRefusedError,
    parse_target,
    refusal,
)
from sds_gateway.domain.webhooks import STANDARD_SCHEDULE_S, DeliveryPolicy, check_event_types
from tests.unit.gateway.webhook_receiver import SignatureError, verify

# ------------------------------------------------------------------------------ signatures

# The test vector published with the Standard Webhooks specification.
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID, VECTOR_TIMESTAMP = "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330
VECTOR_BODY = b'{"test": 2432232314}'


def test_signature_matches_the_specifications_test_vector() -> None:
    signature = sign(
        secret=VECTOR_SECRET, msg_id=VECTOR_ID, timestamp=VECTOR_TIMESTAMP, body=VECTOR_BODY
    )
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_a_receiver_verifies_our_headers_and_refuses_tampering() -> None:
    secret = generate_secret()
    body = b'{"data":{"x":1},"timestamp":"2026-01-01T00:00:00+00:00","type":"ModelTrained"}'
    headers = dict(signed_headers(secret=secret, msg_id="m1", timestamp=1_000, body=body))
    assert verify(secret=secret, headers=headers, body=body, now=1_010)["type"] == "ModelTrained"
    with pytest.raises(SignatureError):
        verify(secret=secret, headers=headers, body=body.replace(b"1}", b"2}"), now=1_010)
    with pytest.raises(SignatureError):
        verify(secret=generate_secret(), headers=headers, body=body, now=1_010)
    with pytest.raises(SignatureError, match="tolerance"):
        verify(secret=secret, headers=headers, body=body, now=1_000 + 301)


def test_secrets_have_the_standard_format_and_are_unique() -> None:
    secret = generate_secret()
    assert secret.startswith("whsec_")
    assert len(secret_key(secret)) == 32
    assert secret != generate_secret()
    for bad in ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not base64!", "whsec_c2hvcnQ="):
        with pytest.raises(ValueError, match="webhook secret"):
            secret_key(bad)


def test_sealed_secrets_open_only_with_their_key() -> None:
    box = SecretBox("k" * 32)
    sealed = box.seal(VECTOR_SECRET)
    assert VECTOR_SECRET not in sealed
    assert sealed != box.seal(VECTOR_SECRET)  # a fresh nonce each time
    assert box.open(sealed) == VECTOR_SECRET
    with pytest.raises(SecretBoxError, match="another key"):
        SecretBox("j" * 32).open(sealed)
    version, _, encoded = sealed.partition(".")
    flipped = encoded[:30] + ("A" if encoded[30] != "A" else "B") + encoded[31:]
    with pytest.raises(SecretBoxError):
        box.open(f"{version}.{flipped}")
    with pytest.raises(ValueError, match="16 characters"):
        SecretBox("short")


# ------------------------------------------------------------------------------ retries


def test_the_standard_schedule_retries_for_more_than_a_day() -> None:
    policy = DeliveryPolicy()
    delays = [policy.retry_delay(n, rand=0.0) for n in range(1, len(STANDARD_SCHEDULE_S))]
    assert delays == [5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0]
    assert sum(d for d in delays if d is not None) > 24 * 3600
    assert policy.retry_delay(len(STANDARD_SCHEDULE_S), rand=0.0) is None
    assert policy.retry_delay(2, rand=0.999) == pytest.approx(300.0 * 1.0999)


def test_an_endpoint_is_disabled_after_n_failed_deliveries_or_days_of_failures() -> None:
    policy = DeliveryPolicy(disable_after_failures=3, disable_after_s=5 * 86400)
    now = datetime(2026, 1, 10, tzinfo=UTC)
    assert policy.disable_reason(consecutive_failures=2, failing_since=None, now=now) is None
    reason = policy.disable_reason(consecutive_failures=3, failing_since=None, now=now)
    assert reason is not None
    assert "3 deliveries in a row" in reason
    recent = now - timedelta(days=4, hours=23)
    assert policy.disable_reason(consecutive_failures=0, failing_since=recent, now=now) is None
    old = now - timedelta(days=5)
    reason = policy.disable_reason(consecutive_failures=0, failing_since=old, now=now)
    assert reason is not None
    assert "since 2026-01-05T00:00:00" in reason


def test_event_types_must_come_from_the_catalogue() -> None:
    assert check_event_types(["ModelTrained", "DatasetProfiled", "ModelTrained"]) == [
        "DatasetProfiled",
        "ModelTrained",
    ]
    with pytest.raises(Invalid, match="unknown event types: ModelBaked"):
        check_event_types(["ModelTrained", "ModelBaked"])
    with pytest.raises(Invalid, match="at least one"):
        check_event_types([])


# ------------------------------------------------------------------------------ targets


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1/hook", "loopback"),
        ("http://2130706433/hook", "loopback"),  # decimal
        ("http://0x7f000001/hook", "loopback"),  # hex
        ("http://0177.0.0.1/hook", "loopback"),  # octal
        ("http://127.1/hook", "loopback"),  # short form
        ("http://[::1]:8080/hook", "loopback"),
        ("http://[::ffff:127.0.0.1]/hook", "loopback"),  # IPv4-mapped
        ("http://[::ffff:7f00:1]/hook", "loopback"),
        ("http://[64:ff9b::a00:1]/hook", "private"),  # NAT64 of 10.0.0.1
        ("http://[2002:c0a8:101::1]/hook", "private"),  # 6to4 of 192.168.1.1
        ("http://10.1.2.3/hook", "private"),
        ("http://172.16.0.1/hook", "private"),
        ("http://192.168.1.10/hook", "private"),
        ("http://169.254.169.254/latest/meta-data", "metadata"),
        ("http://[fd00:ec2::254]/", "metadata"),
        ("http://192.0.0.192/", "metadata"),
        ("http://100.100.100.200/", "metadata"),
        ("http://100.64.0.1/", "not a public address"),  # carrier-grade NAT
        ("http://[fe80::1]/", "link-local"),
        ("http://[fd12:3456::1]/", "unique-local"),
        ("http://224.0.0.1/", "multicast"),
        ("http://[ff02::1]/", "multicast"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://240.0.0.1/", "reserved"),
        ("http://198.18.0.1/", "private"),
    ],
)
async def test_non_public_addresses_are_refused_in_every_spelling(url: str, reason: str) -> None:
    with pytest.raises(TargetRefusedError, match=reason):
        await TargetPolicy().check(url)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://example.com/hook", "http or https"),
        ("file:///etc/passwd", "http or https"),
        ("gopher://8.8.8.8/", "http or https"),
        ("https://user:pw@8.8.8.8/hook", "credentials"),
        ("https:///hook", "needs a host"),
        ("http://localhost:8000/hook", "local name"),
        ("http://api.localhost/hook", "local name"),
        ("https://8.8.8.8:99999/", "not a valid URL"),
        ("https://example.com/" + "a" * 2048, "at most 2048"),
    ],
)
async def test_malformed_and_local_urls_are_refused(url: str, why: str) -> None:
    with pytest.raises(TargetRefusedError, match=why):
        await TargetPolicy().check(url)


def _resolver(answers: dict[str, list[str]]) -> Resolver:
    async def resolve(host: str, _port: int) -> list[IPAddress]:
        if host not in answers:
            raise TargetRefusedError(f"cannot resolve {host}")
        return [ipaddress.ip_address(a) for a in answers[host]]

    return resolve


async def test_names_are_judged_by_every_address_they_resolve_to() -> None:
    policy = TargetPolicy(
        resolver=_resolver(
            {
                "hooks.example.com": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
                "rebind.example.com": ["93.184.215.14", "10.0.0.7"],
                "internal.example.com": ["192.168.0.5"],
            }
        )
    )
    pinned = await policy.check("https://Hooks.Example.com/in?x=1")
    assert pinned.address == ipaddress.ip_address("93.184.215.14")
    assert pinned.url == "https://93.184.215.14:443/in?x=1"
    assert pinned.target.host_header == "hooks.example.com"
    with pytest.raises(TargetRefusedError, match=r"rebind.example.com resolves to 10.0.0.7"):
        await policy.check("https://rebind.example.com/")
    with pytest.raises(TargetRefusedError, match="private"):
        await policy.check("https://internal.example.com/")
    with pytest.raises(TargetRefusedError, match="cannot resolve"):
        await policy.check("https://nowhere.example.com/")


async def test_the_operator_allow_list_lifts_the_refusal() -> None:
    allow = AllowList.parse(["127.0.0.1", "10.20.0.0/16", "hooks.internal", "[::1]"])
    policy = TargetPolicy(
        allow=allow,
        resolver=_resolver({"hooks.internal": ["10.99.0.1"], "other.internal": ["10.20.3.4"]}),
    )
    assert str((await policy.check("http://127.0.0.1:9000/")).address) == "127.0.0.1"
    assert (await policy.check("http://[::1]:9000/")).url == "http://[::1]:9000/"
    assert str((await policy.check("http://other.internal/")).address) == "10.20.3.4"
    assert str((await policy.check("http://hooks.internal/")).address) == "10.99.0.1"
    with pytest.raises(TargetRefusedError, match=r"127\.0\.0\.2"):
        await policy.check("http://127.0.0.2/")
    with pytest.raises(TargetRefusedError, match=r"10\.21\.0\.1"):
        await policy.check("http://10.21.0.1/")
    with pytest.raises(ValueError, match="not a host name"):
        AllowList.parse(["hooks internal"])


def test_public_addresses_pass_and_ports_show_in_the_host_header() -> None:
    assert refusal(ipaddress.ip_address("93.184.215.14")) is None
    assert refusal(ipaddress.ip_address("2606:4700::1111")) is None
    target = parse_target("https://hooks.example.com:8443")
    assert (target.path, target.host_header) == ("/", "hooks.example.com:8443")
    pinned = PinnedTarget(target=target, address=ipaddress.ip_address("2606:4700::1111"))
    assert pinned.url == "https://[2606:4700::1111]:8443/"


def test_webhook_settings_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDS_WEBHOOK_ALLOWED_TARGETS", "127.0.0.1, hooks.internal,10.0.0.0/8")
    monkeypatch.setenv("SDS_WEBHOOK_RETRY_SCHEDULE_S", "0,1,2.5")
    settings = GatewaySettings()
    assert settings.webhook_allowed_targets == ("127.0.0.1", "hooks.internal", "10.0.0.0/8")
    assert settings.webhook_retry_schedule_s == (0.0, 1.0, 2.5)
    monkeypatch.setenv("SDS_WEBHOOK_RETRY_SCHEDULE_S", "0,-1")
    with pytest.raises(ValidationError, match="cannot be negative"):
        GatewaySettings()
