"""Webhooks through the API: real deliveries to a loopback receiver (allow-listed), the delivery
log, redelivery, test messages, pausing, and who may do what."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from sds_gateway.adapters.orm import messaging, project_members, webhook_tables
from sds_gateway.adapters.records import utcnow
from sds_gateway.handlers.webhooks import SUBSCRIPTION_NAME
from tests.unit.gateway.harness import ALICE, BOB, Harness, running_gateway
from tests.unit.gateway.webhook_receiver import Receiver, receiving, verify

CAROL = ("carol", "carol@example.com", "user")
FAST_RETRIES: dict[str, Any] = {
    "webhook_allowed_targets": "127.0.0.1",
    "webhook_retry_schedule_s": "0,0.05,0.05",
}


async def _create(gw: Harness, project_id: str, url: str, **fields: Any) -> dict[str, Any]:
    body = {"project_id": project_id, "url": url, "event_types": ["DatasetProfiled"], **fields}
    response = await gw.call("POST", "/api/v1/webhooks", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def _deliveries(gw: Harness, webhook_id: str, user: Any = ALICE) -> list[dict[str, Any]]:
    response = await gw.call("GET", f"/api/v1/webhooks/{webhook_id}/deliveries", user=user)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def _until_settled(gw: Harness, webhook_id: str, count: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    async def settled() -> bool:
        nonlocal found
        found = await _deliveries(gw, webhook_id)
        return len(found) == count and all(d["state"] != "pending" for d in found)

    await gw.until(settled)
    return found


def _verified(receiver: Receiver, secret: str) -> list[dict[str, Any]]:
    now = int(time.time())
    return [
        verify(secret=secret, headers=r.headers, body=r.body, now=now) for r in receiver.requests
    ]


async def test_a_failing_receiver_gets_the_event_once_it_recovers(tmp_path: Path) -> None:
    async with (
        receiving([500, 503, 200]) as receiver,
        running_gateway(tmp_path, **FAST_RETRIES) as gw,
    ):
        project_id = await gw.create_project()
        created = await _create(gw, project_id, receiver.url, description="data team")
        secret, webhook_id = created["secret"], created["id"]
        assert secret.startswith("whsec_")
        assert created["enabled"] is True
        shown = await gw.call("GET", f"/api/v1/webhooks/{webhook_id}")
        assert "secret" not in shown.json()
        assert secret not in shown.text

        dataset_id = await gw.ready_dataset(project_id)  # publishes DatasetProfiled
        [delivery] = await _until_settled(gw, webhook_id, 1)
        assert delivery["state"] == "succeeded"
        assert delivery["event_type"] == "DatasetProfiled"
        assert delivery["attempt_count"] == 3
        assert [a["status_code"] for a in delivery["attempts"]] == [500, 503, 200]
        assert [a["error"] for a in delivery["attempts"]] == ["HTTP 500", "HTTP 503", None]
        assert all(a["latency_ms"] > 0 for a in delivery["attempts"])

        messages = _verified(receiver, secret)
        assert len(messages) == 3
        assert {r.headers["webhook-id"] for r in receiver.requests} == {delivery["event_id"]}
        first = receiver.requests[0]
        assert (first.method, first.path) == ("POST", "/hooks/sds?source=test")
        assert first.headers["host"] == f"127.0.0.1:{receiver.port}"
        assert first.headers["content-type"] == "application/json"
        message = messages[0]
        assert message["type"] == "DatasetProfiled"
        assert message["data"]["project_id"] == project_id
        assert message["data"]["event_id"] == delivery["event_id"]
        assert message["data"]["payload"]["dataset_id"] == dataset_id

        hook = (await gw.call("GET", f"/api/v1/webhooks/{webhook_id}")).json()
        assert (hook["consecutive_failures"], hook["failing_since"]) == (0, None)

        # Redelivery: the same message again (same webhook-id), logged as a fourth attempt.
        path = f"/api/v1/webhooks/{webhook_id}/deliveries/{delivery['id']}/redeliver"
        redelivered = await gw.call("POST", path)
        assert redelivered.status_code == 202, redelivered.text
        assert redelivered.json()["state"] == "pending"
        [delivery] = await _until_settled(gw, webhook_id, 1)
        assert [a["status_code"] for a in delivery["attempts"]] == [500, 503, 200, 200]
        assert len(_verified(receiver, secret)) == 4
        assert receiver.requests[3].headers["webhook-id"] == delivery["event_id"]
        assert receiver.requests[3].body == receiver.requests[0].body


async def test_test_messages_pausing_and_deleting(tmp_path: Path) -> None:
    async with receiving([200]) as receiver, running_gateway(tmp_path, **FAST_RETRIES) as gw:
        project_id = await gw.create_project()
        created = await _create(gw, project_id, receiver.url)
        webhook_id = created["id"]

        tested = await gw.call("POST", f"/api/v1/webhooks/{webhook_id}/test")
        assert tested.status_code == 202, tested.text
        assert tested.json()["event_type"] == "WebhookTest"
        [delivery] = await _until_settled(gw, webhook_id, 1)
        assert delivery["state"] == "succeeded"
        [message] = _verified(receiver, created["secret"])
        assert message["type"] == "WebhookTest"
        assert message["data"]["webhook_id"] == webhook_id

        paused = await gw.call("PATCH", f"/api/v1/webhooks/{webhook_id}", json={"enabled": False})
        assert paused.status_code == 200, paused.text
        assert (paused.json()["enabled"], paused.json()["disabled_reason"]) == (
            False,
            "disabled by alice",
        )
        refused = await gw.call("POST", f"/api/v1/webhooks/{webhook_id}/test")
        assert (refused.status_code, refused.json()["code"]) == (409, "webhook_disabled")
        await gw.ready_dataset(project_id)  # consumed while paused: not delivered
        assert len(await _deliveries(gw, webhook_id)) == 1

        resumed = await gw.call(
            "PATCH",
            f"/api/v1/webhooks/{webhook_id}",
            json={"enabled": True, "event_types": ["ModelTrained", "DatasetProfiled"]},
        )
        assert resumed.json()["enabled"] is True
        assert resumed.json()["disabled_reason"] is None
        assert resumed.json()["event_types"] == ["DatasetProfiled", "ModelTrained"]
        listed = await gw.call("GET", "/api/v1/webhooks", params={"project_id": project_id})
        assert [w["id"] for w in listed.json()["items"]] == [webhook_id]

        deleted = await gw.call("DELETE", f"/api/v1/webhooks/{webhook_id}")
        assert deleted.status_code == 204
        assert (await gw.call("GET", f"/api/v1/webhooks/{webhook_id}")).status_code == 404
        gone = await gw.call("GET", f"/api/v1/webhooks/{webhook_id}/deliveries")
        assert gone.status_code == 404


async def test_targets_and_event_types_are_checked_at_creation(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        project_id = await gw.create_project()
        base = {"project_id": project_id, "event_types": ["ModelTrained"]}
        for url in (
            "http://127.0.0.1:9/hook",  # loopback, and no allow-list here
            "http://169.254.169.254/latest/meta-data/",
            "http://[::ffff:10.0.0.1]/",
            "http://0x0a000001/",
            "ftp://8.8.8.8/",
        ):
            response = await gw.call("POST", "/api/v1/webhooks", json={**base, "url": url})
            assert response.status_code == 422, (url, response.text)
            assert response.json()["code"] == "webhook_target_refused", url
        unknown = await gw.call(
            "POST",
            "/api/v1/webhooks",
            json={**base, "url": "https://8.8.8.8/", "event_types": ["NoSuchEvent"]},
        )
        assert (unknown.status_code, unknown.json()["code"]) == (422, "unknown_event_type")
        listed = await gw.call("GET", "/api/v1/webhooks", params={"project_id": project_id})
        assert listed.json()["items"] == []


async def test_owners_and_editors_manage_viewers_read_others_see_nothing(tmp_path: Path) -> None:
    async with receiving([200]) as receiver, running_gateway(tmp_path, **FAST_RETRIES) as gw:
        project_id = await gw.create_project()
        webhook_id = (await _create(gw, project_id, receiver.url))["id"]
        path = f"/api/v1/webhooks/{webhook_id}"

        for method, url in (
            ("GET", path),
            ("GET", f"{path}/deliveries"),
            ("PATCH", path),
            ("DELETE", path),
            ("POST", f"{path}/test"),
        ):
            body: dict[str, Any] | None = {"enabled": False} if method == "PATCH" else None
            answer = await gw.call(method, url, user=BOB, json=body)
            assert (answer.status_code, answer.json()["detail"]) == (404, "webhook not found")
        stranger = await gw.call(
            "POST",
            "/api/v1/webhooks",
            user=BOB,
            json={"project_id": project_id, "url": receiver.url, "event_types": ["ModelTrained"]},
        )
        assert stranger.status_code == 404
        bobs = await gw.call("GET", "/api/v1/webhooks", user=BOB, params={"project_id": project_id})
        assert bobs.json()["items"] == []

        async with gw.service.database.unit_of_work(actor="test") as uow:
            for user_id, role in (("bob", "viewer"), ("carol", "editor")):
                await uow.session.execute(
                    insert(project_members).values(
                        project_id=project_id, user_id=user_id, role=role, created_at=utcnow()
                    )
                )
        assert (await gw.call("GET", path, user=BOB)).status_code == 200
        assert (await gw.call("GET", f"{path}/deliveries", user=BOB)).status_code == 200
        listed = await gw.call("GET", "/api/v1/webhooks", user=BOB)
        assert [w["id"] for w in listed.json()["items"]] == [webhook_id]
        for method, url in (("PATCH", path), ("DELETE", path), ("POST", f"{path}/test")):
            body = {"description": "mine"} if method == "PATCH" else None
            answer = await gw.call(method, url, user=BOB, json=body)
            assert answer.status_code == 403, (method, url, answer.text)
        viewer_creates = await gw.call(
            "POST",
            "/api/v1/webhooks",
            user=BOB,
            json={"project_id": project_id, "url": receiver.url, "event_types": ["ModelTrained"]},
        )
        assert viewer_creates.status_code == 403

        edited = await gw.call("PATCH", path, user=CAROL, json={"description": "carol's"})
        assert (edited.status_code, edited.json()["description"]) == (200, "carol's")
        assert (await gw.call("POST", f"{path}/test", user=CAROL)).status_code == 202


async def test_events_of_a_deleted_project_are_not_delivered(tmp_path: Path) -> None:
    async with receiving([200]) as receiver, running_gateway(tmp_path, **FAST_RETRIES) as gw:
        project_id = await gw.create_project()
        webhook_id = (await _create(gw, project_id, receiver.url, event_types=["DatasetDeleted"]))[
            "id"
        ]
        uploads = [await gw.upload(project_id) for _ in range(2)]
        first, second = (str(u.json()["id"]) for u in uploads)
        assert (await gw.call("DELETE", f"/api/v1/datasets/{first}")).status_code == 204
        [delivery] = await _until_settled(gw, webhook_id, 1)
        assert delivery["state"] == "succeeded"

        # Alice deletes her account, and with it the project she owns alone: the deletion's own
        # DatasetDeleted (of the second dataset) is consumed after the project is gone.
        assert (await gw.call("DELETE", "/api/v1/me")).status_code == 200
        topic = gw.settings.topic("datasets")
        handler = f"{gw.service.spec.name}:{SUBSCRIPTION_NAME}"  # its inbox rows
        late: list[str] = []

        async def consumed() -> bool:
            late[:] = [
                str(e.event_id)
                for e in gw.emitted(topic, "DatasetDeleted")
                if e.payload["dataset_id"] == second
            ]
            if not late:
                return False
            async with gw.service.database.sessions() as session:
                handled = await session.scalar(
                    select(messaging.inbox.c.event_id).where(
                        messaging.inbox.c.handler == handler,
                        messaging.inbox.c.event_id == late[0],
                    )
                )
            return handled is not None

        await gw.until(consumed)
        d = webhook_tables.deliveries
        async with gw.service.database.sessions() as session:
            recorded = list(
                await session.scalars(select(d.c.event_id).where(d.c.webhook_id == webhook_id))
            )
        assert recorded == [delivery["event_id"]]  # nothing recorded for the late event
        assert len(receiver.requests) == 1
