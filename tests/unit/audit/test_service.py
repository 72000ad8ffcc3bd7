"""The audit service through its real bootstrap: consumption, dedup, order, routes, trails."""

from __future__ import annotations

import csv
import io
import itertools
import stat
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from sds_audit.adapters.orm import audit_checkpoints, audit_log
from sds_audit.config import AuditSettings, resolve_signing_key
from sds_common.auth import MissingSecretError
from sds_common.bus import Unrecognised
from sds_common.events import (
    CATALOGUE,
    AuthenticationFailed,
    Envelope,
    TrainingProgress,
)
from sds_common.http.settings import resolve_auth_secrets
from tests.unit.audit.flow import G2, PROJECT, D, G, S
from tests.unit.audit.harness import ALICE, deliver_flow, running_audit


async def test_every_catalogue_entry_is_consumed_by_the_audit_group(tmp_path: Path) -> None:
    async with running_audit(tmp_path) as audit:
        messaging = audit.service.messaging
        assert messaging is not None
        consumer = messaging.consumer
        assert consumer is not None
        assert consumer.group_id == "audit"
        subscriptions = audit.service.spec.subscriptions(audit.service)
        typed = [s for s in subscriptions if s.event is not Unrecognised]
        assert {(s.event.event_type, s.event.event_version) for s in typed} == set(CATALOGUE)
        # ... and what no model can read (recorded flagged: test_unrecognised).
        assert len(subscriptions) == len(typed) + 1
        # One batch subscription: a fetch's events are appended with one lock and one insert.
        assert {s.name for s in subscriptions} == {"record"}
        assert all(s.batch_handler is not None for s in subscriptions)
        assert set(consumer.topics) == {model.topic for model in CATALOGUE.values()}


async def test_events_are_recorded_once_in_log_order(tmp_path: Path) -> None:
    async with running_audit(tmp_path) as audit:
        envelopes = await deliver_flow(audit)
        # Redeliveries (the same event ids again) change nothing.
        await audit.deliver(envelopes[3], envelopes[0], envelopes[3])
        marker = await audit.publish(
            AuthenticationFailed(reason="marker", method="GET", path="/"), actor="gateway"
        )
        await audit.until_count(len(envelopes) + 1)
        async with audit.service.database.sessions() as session:
            rows = (await session.execute(select(audit_log).order_by(audit_log.c.seq))).all()
        assert [row.seq for row in rows] == list(range(1, len(envelopes) + 2))
        assert [row.event_id for row in rows] == [str(e.event_id) for e in [*envelopes, marker]]
        by_type = {row.event_type: row for row in rows}
        spent = by_type["PrivacyBudgetSpent"]
        assert (spent.resource_type, spent.resource_id) == ("dataset", str(D))
        assert spent.privacy == {
            "epsilon": 2.9,
            "delta": 1e-6,
            "accountant": "rdp",
            "noise_multiplier": 1.1,
            "sample_rate": 0.01,
            "steps": 200,
            "preprocessing_epsilon": 0.3,
            "remaining_epsilon": 7.1,
            "mechanism": "DP-SGD (Gaussian noise on clipped per-record gradients)",
            "training_epsilon": 2.6,
            "max_grad_norm": 1.0,
            "epochs": 2,
            "batch_size": 50,
        }
        assert spent.actor == "trainer"
        assert spent.correlation_id == str(G)
        requested = [row for row in rows if row.event_type == "TrainingRequested"]
        assert requested[0].privacy["dp"] is True
        assert requested[0].privacy["epsilon"] == 3.0
        assert requested[1].privacy == {"dp": False}
        assert by_type["DpConfigRejected"].privacy == {"reasons": ["epsilon above the cap"]}
        generated = by_type["SyntheticDataGenerated"]
        assert (generated.resource_type, generated.resource_id) == ("synthetic_dataset", str(S))
        assert by_type["SyntheticDataDownloaded"].resource_type == "synthetic_dataset"
        assert by_type["AuthenticationFailed"].resource_type == "user"
        assert by_type["TrainingStarted"].privacy is None
        assert rows[0].prev_hash == "0" * 64
        assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(rows))

        verified = (await audit.call("GET", "/api/v1/audit/verify")).json()
        assert verified.get("ok") is True, verified
        assert verified["records_checked"] == len(rows)
        assert verified["head_seq"] == len(rows)


async def test_a_fetch_is_appended_as_one_batch_once_per_event(tmp_path: Path) -> None:
    async with running_audit(tmp_path, audit_checkpoint_every=7) as audit:
        generator = uuid.uuid4()
        first = await audit.publish(
            TrainingProgress(generator_id=generator, epoch=0, total_epochs=40), actor="trainer"
        )
        await audit.until_count(1)
        epochs = [
            Envelope.wrap(
                TrainingProgress(generator_id=generator, epoch=n, total_epochs=40),
                actor="trainer",
            )
            for n in range(1, 31)
        ]
        # One send on one key: one fetch, with copies of two events and of a recorded one.
        await audit.deliver_at_once(*epochs[:10], epochs[3], first, *epochs[10:], epochs[29])
        await audit.until_count(31)
        async with audit.service.database.sessions() as session:
            rows = (await session.execute(select(audit_log).order_by(audit_log.c.seq))).all()
            checkpoints = list(await session.scalars(select(audit_checkpoints.c.seq)))
        assert [row.event_id for row in rows] == [str(e.event_id) for e in [first, *epochs]]
        assert len({row.recorded_at for row in rows[1:]}) == 1  # one call for the whole fetch
        assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(rows))
        assert checkpoints == [7, 14, 21, 28]
        verified = (await audit.call("GET", "/api/v1/audit/verify")).json()
        assert (verified["ok"], verified["checkpoints_checked"]) == (True, 4)


async def test_the_routes_admit_only_signed_admins(tmp_path: Path) -> None:
    async with running_audit(tmp_path) as audit:
        anonymous = await audit.client.get("/api/v1/audit/events")
        assert anonymous.status_code == 401
        assert anonymous.headers["content-type"] == "application/problem+json"
        assert anonymous.json()["code"] == "not_authenticated"
        forged = await audit.call("GET", "/api/v1/audit/verify", secret="not-the-secret")
        assert forged.status_code == 401
        user = await audit.call("GET", "/api/v1/audit/events", user=ALICE)
        assert user.status_code == 403
        assert user.json()["code"] == "forbidden"
        trail = await audit.call("GET", f"/api/v1/audit/generators/{G}/trail", user=ALICE)
        assert trail.status_code == 403
        assert (await audit.call("GET", "/api/v1/audit/events")).status_code == 200


async def test_listing_filters_pages_and_exports_csv(tmp_path: Path) -> None:
    async with running_audit(tmp_path) as audit:
        envelopes = await deliver_flow(audit)

        async def items(**params: Any) -> list[dict[str, Any]]:
            response = await audit.call("GET", "/api/v1/audit/events", params=params)
            assert response.status_code == 200, response.text
            return list(response.json()["items"])

        assert len(await items()) == len(envelopes)
        by_resource = await items(resource_type="generator", resource_id=str(G))
        assert [r["event_type"] for r in by_resource] == [
            "TrainingRequested",
            "TrainingStarted",
            "TrainingProgress",
            "TrainingProgress",
            "ModelTrained",
        ]
        assert {r["actor"] for r in await items(actor="trainer")} == {"trainer"}
        assert len(await items(event_type="TrainingProgress")) == 2
        assert len(await items(project_id=PROJECT)) == len(envelopes) - 1
        middle = envelopes[5].occurred_at
        since = await items(since=middle.isoformat())
        assert since[0]["event_id"] == str(envelopes[5].event_id)
        until = await items(until=middle.isoformat())
        assert len(until) == 5
        later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        assert await items(since=later) == []

        pages: list[int] = []
        cursor = 0
        while True:
            response = await audit.call(
                "GET", "/api/v1/audit/events", params={"limit": 7, "cursor": cursor}
            )
            body = response.json()
            pages.extend(r["seq"] for r in body["items"])
            if body["next_cursor"] is None:
                break
            cursor = body["next_cursor"]
        assert pages == list(range(1, len(envelopes) + 1))

        exported = await audit.call("GET", "/api/v1/audit/events", params={"format": "csv"})
        assert exported.status_code == 200
        assert exported.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        assert len(rows) == len(envelopes)
        assert rows[0]["seq"] == "1"
        assert rows[0]["event_type"] == "DatasetUploaded"
        assert len(rows[-1]["hash"]) == 64
        assert rows[-1]["occurred_at"].endswith("Z")
        filtered = await audit.call(
            "GET", "/api/v1/audit/events", params={"format": "csv", "event_type": "ModelTrained"}
        )
        assert len(list(csv.DictReader(io.StringIO(filtered.text)))) == 1

        invalid = await audit.call("GET", "/api/v1/audit/events", params={"format": "xml"})
        assert invalid.status_code == 422


async def test_a_generator_trail_follows_its_ids(tmp_path: Path) -> None:
    async with running_audit(tmp_path) as audit:
        await deliver_flow(audit)
        response = await audit.call("GET", f"/api/v1/audit/generators/{G}/trail")
        assert response.status_code == 200, response.text
        trail = response.json()["items"]
        assert [r["event_type"] for r in trail] == [
            "DatasetUploaded",
            "DatasetProfiled",
            "TrainingRequested",
            "PrivacyBudgetReserved",
            "TrainingStarted",
            "TrainingProgress",
            "TrainingProgress",
            "ModelTrained",
            "PrivacyBudgetSpent",
            "GenerationRequested",
            "SyntheticDataGenerated",
            "EvaluationRequested",
            "EvaluationCompleted",
            "ExplanationRequested",
            "ExplanationGenerated",
            "SyntheticDataDownloaded",
        ]
        assert all(str(G2) not in str(r["payload"]) for r in trail)
        seqs = [r["seq"] for r in trail]
        assert seqs == sorted(seqs)
        unknown = await audit.call("GET", f"/api/v1/audit/generators/{uuid.uuid4()}/trail")
        assert unknown.json()["items"] == []


async def test_checkpoints_every_n_records_and_on_demand(tmp_path: Path) -> None:
    async with running_audit(tmp_path, audit_checkpoint_every=3) as audit:
        empty = await audit.call("POST", "/api/v1/audit/checkpoints")
        assert empty.status_code == 409
        for n in range(1, 8):
            await audit.publish(
                AuthenticationFailed(reason=f"r{n}", method="GET", path="/"), actor="gateway"
            )
            await audit.until_count(n)
        async with audit.service.database.sessions() as session:
            periodic = list(await session.scalars(select(audit_checkpoints.c.seq)))
        assert periodic == [3, 6]
        signed = await audit.call("POST", "/api/v1/audit/checkpoints")
        assert signed.status_code == 201, signed.text
        assert (signed.json()["seq"], signed.json()["reason"]) == (7, "on_demand")
        again = await audit.call("POST", "/api/v1/audit/checkpoints")
        assert again.json()["signature"] == signed.json()["signature"]
        verified = (await audit.call("GET", "/api/v1/audit/verify")).json()
        assert verified["ok"] is True
        assert verified["checkpoints_checked"] == 3


async def test_verify_names_the_first_tampered_record(tmp_path: Path) -> None:
    async with running_audit(tmp_path) as audit:
        await deliver_flow(audit)
        async with audit.service.database.engine.begin() as conn:
            await conn.execute(
                text("UPDATE audit_log SET payload = :p WHERE seq = 9"),
                {"p": '{"epsilon": 0.1}'},
            )
            await conn.execute(text("DELETE FROM audit_log WHERE seq = 12"))
        verified = (await audit.call("GET", "/api/v1/audit/verify")).json()
        assert (verified["ok"], verified["first_broken_seq"], verified["problem"]) == (
            False,
            9,
            "edited",
        )
        assert verified["last_verified_seq"] == 8


def test_the_embedded_signing_key_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    settings = AuditSettings(data_dir=tmp_path, auth_secrets="")
    key = resolve_signing_key(settings)
    assert key == resolve_signing_key(settings)
    path = tmp_path / "secrets" / "audit-signing-key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert resolve_auth_secrets(settings)  # the embedded proxy secret, shared with the CLI
    assert resolve_signing_key(AuditSettings(data_dir=tmp_path, audit_signing_key="k")) == b"k"


def test_the_distributed_service_needs_its_keys(tmp_path: Path) -> None:
    settings = AuditSettings(data_dir=tmp_path, runtime="distributed", bus="kafka")
    with pytest.raises(MissingSecretError, match="SDS_AUDIT_SIGNING_KEY"):
        resolve_signing_key(settings)
    with pytest.raises(MissingSecretError, match="SDS_AUTH_SECRETS"):
        resolve_auth_secrets(settings)
