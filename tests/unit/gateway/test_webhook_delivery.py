"""Delivery attempts on a fake clock: the retry schedule, the log, and automatic disabling."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from sds_common.auth import Identity
from sds_common.runtime.service import Service
from sds_gateway.adapters.orm import webhook_tables
from sds_gateway.adapters.secret_box import SecretBox
from sds_gateway.adapters.webhook_http import PinnedTarget, SendResult, TargetPolicy
from sds_gateway.adapters.webhooks import WebhookParts
from sds_gateway.bootstrap import bootstrap
from sds_gateway.commands import webhooks as commands
from sds_gateway.commands.account import delete_account
from sds_gateway.commands.projects import create_project, delete_project
from sds_gateway.config import GatewaySettings
from sds_gateway.domain.webhook_targets import IPAddress
from sds_gateway.domain.webhooks import DeliveryPolicy
from sds_gateway.handlers.webhook_delivery import WebhookDeliverer
from sds_gateway.schemas.projects import ProjectCreate
from sds_gateway.schemas.webhooks import WebhookCreate
from sds_gateway.webhook_queries import list_deliveries
from tests.unit.gateway.webhook_receiver import verify

ALICE = Identity(user_id="alice", email="alice@example.com", role="user")
START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class FakeSender:
    statuses: list[int | None] = field(default_factory=lambda: [503])
    sent: list[tuple[PinnedTarget, dict[str, str], bytes]] = field(default_factory=list)

    async def send(
        self, target: PinnedTarget, *, headers: Mapping[str, str], body: bytes, timeout_s: float
    ) -> SendResult:
        self.sent.append((target, dict(headers), body))
        status = self.statuses[min(len(self.sent), len(self.statuses)) - 1]
        if status is None:
            return SendResult(status_code=None, error="ConnectError: refused", latency_ms=1.5)
        error = None if 200 <= status < 300 else f"HTTP {status}"
        return SendResult(status_code=status, error=error, latency_ms=2.5)


async def _resolve(host: str, _port: int) -> list[IPAddress]:
    assert host == "hooks.example.com"
    return [ipaddress.ip_address("93.184.215.14")]


@dataclass
class Rig:
    service: Service
    parts: WebhookParts
    clock: Clock
    sender: FakeSender
    deliverer: WebhookDeliverer
    webhook_id: str
    secret: str

    async def delivery(self) -> str:
        """A new pending delivery (a WebhookTest message)."""
        created = await commands.send_test(
            self.service.database, self.parts, ALICE, webhook_id=self.webhook_id
        )
        return created.id

    async def row(self, table_name: str, row_id: str) -> dict[str, object]:
        table = {"webhooks": webhook_tables.webhooks, "deliveries": webhook_tables.deliveries}
        async with self.service.database.sessions() as session:
            found = (
                (
                    await session.execute(
                        select(table[table_name]).where(table[table_name].c.id == row_id)
                    )
                )
                .mappings()
                .one()
            )
        return dict(found)


async def _rig(tmp_path: Path, policy: DeliveryPolicy) -> AsyncIterator[Rig]:
    clock, sender = Clock(), FakeSender()
    parts = WebhookParts(
        box=SecretBox("a-test-key-of-some-length"),
        targets=TargetPolicy(resolver=_resolve),
        policy=policy,
        sender=sender,
        clock=clock,
        rand=lambda: 0.5,
    )
    settings = GatewaySettings(data_dir=tmp_path, auth_secrets="s")
    service = bootstrap(settings, webhooks=parts)
    await service.migrate()
    try:
        project = await create_project(service.database, ALICE, ProjectCreate(name="p"))
        created = await commands.create_webhook(
            service.database,
            parts,
            ALICE,
            WebhookCreate(
                project_id=project.id,
                url="https://hooks.example.com/in",
                event_types=["ModelTrained"],
            ),
        )
        yield Rig(
            service=service,
            parts=parts,
            clock=clock,
            sender=sender,
            deliverer=WebhookDeliverer(database=service.database, parts=parts),
            webhook_id=created.id,
            secret=created.secret,
        )
    finally:
        await service.database.dispose()


@pytest.fixture
async def standard(tmp_path: Path) -> AsyncIterator[Rig]:
    async for rig in _rig(tmp_path, DeliveryPolicy()):
        yield rig


async def test_a_failing_delivery_follows_the_standard_schedule_then_fails(standard: Rig) -> None:
    rig = standard
    delivery_id = await rig.delivery()
    schedule = rig.parts.policy.schedule_s
    for attempt in range(1, len(schedule) + 1):
        outcome = await rig.deliverer.attempt(delivery_id)
        assert len(rig.sender.sent) == attempt
        if attempt == len(schedule):
            assert outcome.retry_in_s is None
            break
        expected = schedule[attempt] * 1.05  # jitter: 10 % of the delay times rand() = 0.5
        assert outcome.retry_in_s == pytest.approx(expected)
        # A run that comes early (a job resumed after a crash) waits again, sending nothing.
        rig.clock.advance(expected / 2)
        early = await rig.deliverer.attempt(delivery_id)
        assert early.retry_in_s == pytest.approx(expected / 2)
        assert len(rig.sender.sent) == attempt
        rig.clock.advance(expected / 2)

    delivery = await rig.row("deliveries", delivery_id)
    assert delivery["state"] == "failed"
    assert delivery["attempts"] == 8
    assert delivery["last_status_code"] == 503
    elapsed = rig.clock.now - START
    assert elapsed > timedelta(days=1)
    webhook = await rig.row("webhooks", rig.webhook_id)
    assert webhook["consecutive_failures"] == 1
    assert webhook["enabled"] is True

    async with rig.service.database.sessions() as session:
        page = await list_deliveries(
            session, ALICE, webhook_id=rig.webhook_id, state=None, limit=10, cursor=None
        )
    [log] = page.items
    assert (log.id, log.state, log.attempt_count, log.next_attempt_at) == (
        delivery_id,
        "failed",
        8,
        None,
    )
    assert [a.status_code for a in log.attempts] == [503] * 8
    assert [a.number for a in log.attempts] == list(range(1, 9))
    assert all(a.latency_ms == 2.5 and a.error == "HTTP 503" for a in log.attempts)

    # Every attempt is one message: same webhook-id, each signed for its own timestamp.
    ids = {headers["webhook-id"] for _target, headers, _body in rig.sender.sent}
    assert len(ids) == 1
    for target, headers, body in rig.sender.sent:
        assert target.url == "https://93.184.215.14:443/in"
        message = verify(
            secret=rig.secret, headers=headers, body=body, now=int(headers["webhook-timestamp"])
        )
        assert message["type"] == "WebhookTest"
    stamps = [int(h["webhook-timestamp"]) for _t, h, _b in rig.sender.sent]
    assert stamps[0] == int(START.timestamp())
    assert stamps == sorted(stamps)


async def test_a_success_resets_the_failure_count(standard: Rig) -> None:
    rig = standard
    rig.sender.statuses = [None, 204]
    delivery_id = await rig.delivery()
    first = await rig.deliverer.attempt(delivery_id)
    assert first.retry_in_s is not None
    webhook = await rig.row("webhooks", rig.webhook_id)
    assert webhook["failing_since"] is not None
    rig.clock.advance(first.retry_in_s)
    assert (await rig.deliverer.attempt(delivery_id)).retry_in_s is None
    delivery = await rig.row("deliveries", delivery_id)
    assert (delivery["state"], delivery["attempts"], delivery["last_status_code"]) == (
        "succeeded",
        2,
        204,
    )
    webhook = await rig.row("webhooks", rig.webhook_id)
    assert webhook["failing_since"] is None
    assert webhook["consecutive_failures"] == 0
    # A finished delivery is not attempted again by a stray run.
    assert (await rig.deliverer.attempt(delivery_id)).retry_in_s is None
    assert len(rig.sender.sent) == 2


async def test_n_failed_deliveries_in_a_row_disable_the_endpoint(tmp_path: Path) -> None:
    async for rig in _rig(tmp_path, DeliveryPolicy(schedule_s=(0.0,), disable_after_failures=3)):
        rig.sender.statuses = [500]
        deliveries = [await rig.delivery() for _ in range(4)]
        for delivery_id in deliveries[:3]:
            assert (await rig.deliverer.attempt(delivery_id)).retry_in_s is None
        webhook = await rig.row("webhooks", rig.webhook_id)
        assert webhook["enabled"] is False
        assert "3 deliveries in a row failed" in str(webhook["disabled_reason"])
        # The endpoint is not tried again: the queued delivery is cancelled, with the reason.
        await rig.deliverer.attempt(deliveries[3])
        assert len(rig.sender.sent) == 3
        cancelled = await rig.row("deliveries", deliveries[3])
        assert cancelled["state"] == "cancelled"
        assert "the webhook is disabled" in str(cancelled["last_error"])


async def test_days_of_failed_attempts_disable_the_endpoint(tmp_path: Path) -> None:
    day = 86400.0
    policy = DeliveryPolicy(
        schedule_s=(0.0, *([day] * 10)), disable_after_failures=100, jitter_fraction=0.0
    )
    async for rig in _rig(tmp_path, policy):
        rig.sender.statuses = [None]
        delivery_id = await rig.delivery()
        for _day in range(5):
            outcome = await rig.deliverer.attempt(delivery_id)
            assert outcome.retry_in_s == day
            assert (await rig.row("webhooks", rig.webhook_id))["enabled"] is True
            rig.clock.advance(day)
        await rig.deliverer.attempt(delivery_id)  # the attempt five days after the first
        webhook = await rig.row("webhooks", rig.webhook_id)
        assert webhook["enabled"] is False
        assert "every attempt failed since 2026-03-01T12:00:00" in str(webhook["disabled_reason"])
        assert (await rig.deliverer.attempt(delivery_id)).retry_in_s is None
        assert (await rig.row("deliveries", delivery_id))["state"] == "cancelled"
        assert len(rig.sender.sent) == 6


async def test_a_target_that_now_resolves_privately_is_not_contacted(standard: Rig) -> None:
    rig = standard

    async def rebound(_host: str, _port: int) -> list[IPAddress]:
        return [ipaddress.ip_address("169.254.169.254")]

    # DNS answers differently since the webhook was created (rebinding): checked again, refused.
    parts = replace(rig.parts, targets=TargetPolicy(resolver=rebound))
    deliverer = WebhookDeliverer(database=rig.service.database, parts=parts)
    delivery_id = await rig.delivery()
    outcome = await deliverer.attempt(delivery_id)
    assert outcome.retry_in_s is not None
    assert rig.sender.sent == []
    delivery = await rig.row("deliveries", delivery_id)
    assert "metadata" in str(delivery["last_error"])


@pytest.mark.parametrize("deleted_by", ["project owner", "account deletion"])
async def test_a_pending_delivery_of_a_deleted_project_is_cancelled(
    standard: Rig, deleted_by: str
) -> None:
    rig = standard
    delivery_id = await rig.delivery()
    first = await rig.deliverer.attempt(delivery_id)  # 503: the next attempt is scheduled
    assert first.retry_in_s is not None
    webhook = await rig.row("webhooks", rig.webhook_id)
    project_id = str(webhook["project_id"])
    if deleted_by == "project owner":
        await delete_project(rig.service.database, ALICE, project_id=project_id)
    else:
        await delete_account(database=rig.service.database, storage=rig.service.storage, user=ALICE)

    rig.clock.advance(first.retry_in_s)
    outcome = await rig.deliverer.attempt(delivery_id)
    assert outcome.retry_in_s is None  # nothing left to do: the job finishes
    assert len(rig.sender.sent) == 1  # the due attempt was not made
    delivery = await rig.row("deliveries", delivery_id)
    assert (delivery["state"], delivery["attempts"], delivery["next_attempt_at"]) == (
        "cancelled",
        1,
        None,
    )
    assert delivery["last_error"] == "not sent: the project was deleted"
    assert delivery["finished_at"] is not None
    async with rig.service.database.sessions() as session:
        attempts = (
            await session.execute(
                select(webhook_tables.attempts.c.number).where(
                    webhook_tables.attempts.c.delivery_id == delivery_id
                )
            )
        ).all()
    assert len(attempts) == 1  # the log keeps the one attempt made before the deletion
