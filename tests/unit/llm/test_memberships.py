"""Who may use the llm routes: the gateway's membership events, applied in occurrence order.

Events of one (project, user) can arrive out of order (a replayed dead letter, two gateway
relays) and twice (at-least-once delivery); the outcome must be that of the latest change.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from sds_common.events import (
    AccountDeleted,
    DatasetDeleted,
    DatasetUploaded,
    Envelope,
    ProjectMembershipChanged,
)
from sds_llm.adapters.orm import project_members
from tests.unit.llm.conftest import (
    ALICE,
    PROJECT,
    Harness,
    Role,
    add_member,
    complete_evaluation,
    seed_dataset,
)

BOB = ("bob", "bob@example.com", "user")
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _change(role: Role | None, *, at: datetime, was: Role | None = None) -> Envelope:
    """Bob's membership change as the gateway would publish it, dated ``at``."""
    event = ProjectMembershipChanged(
        user_id="bob", project_id=uuid.UUID(PROJECT), role=role, previous_role=was
    )
    envelope = Envelope.wrap(event, actor="alice", project_id=PROJECT)
    return envelope.model_copy(update={"occurred_at": at})


async def _deliver(h: Harness, *envelopes: Envelope) -> None:
    """Deliver each envelope and wait until it is handled, so the order is the one given."""
    for envelope in envelopes:
        await h.deliver(envelope)
        await h.handled(envelope)


async def _statuses(h: Harness, dataset_id: uuid.UUID, user: tuple[str, str, str]) -> set[int]:
    paths = (
        f"/api/v1/datasets/{dataset_id}/data-dictionary",
        f"/api/v1/datasets/{dataset_id}/pii-hints",
    )
    return {(await h.call("POST", path, user=user)).status_code for path in paths}


async def test_a_viewer_added_by_an_owner_uses_the_llm_routes(harness: Harness) -> None:
    dataset_id = await seed_dataset(harness)  # Alice created the project (announced as owner)
    evaluation_id = await complete_evaluation(harness)
    explain = f"/api/v1/evaluations/{evaluation_id}/explanation"
    assert await _statuses(harness, dataset_id, BOB) == {404}
    assert (await harness.call("POST", explain, user=BOB)).status_code == 404

    await add_member(harness, "bob", role="viewer", by="alice")  # never acted in the project

    assert await _statuses(harness, dataset_id, BOB) == {200}
    explained = await harness.call("POST", explain, user=BOB)
    assert explained.status_code == 200, explained.text
    chat = await harness.call(
        "POST",
        "/api/v1/chat",
        user=BOB,
        json={"evaluation_id": str(evaluation_id), "question": "Good enough?"},
    )
    assert chat.status_code == 200, chat.text


async def test_a_removed_member_gets_404_and_old_activity_grants_nothing(
    harness: Harness,
) -> None:
    dataset_id = await seed_dataset(harness)
    await _deliver(harness, _change("editor", at=T0))
    assert await _statuses(harness, dataset_id, BOB) == {200}
    await _deliver(harness, _change("viewer", at=T0 + timedelta(seconds=1), was="editor"))
    assert await _statuses(harness, dataset_id, BOB) == {200}  # any role may use the routes

    await _deliver(harness, _change(None, at=T0 + timedelta(seconds=2), was="viewer"))
    assert await _statuses(harness, dataset_id, BOB) == {404}
    assert await _statuses(harness, dataset_id, ALICE) == {200}  # the owner keeps access

    # An upload Bob made while an editor, delivered only now: who acted is not membership.
    late_id = uuid.uuid4()
    uploaded = Envelope.wrap(
        DatasetUploaded(
            dataset_id=late_id,
            name="late",
            object_key="uploads/late.csv",
            filename="late.csv",
            format="csv",
            size_bytes=10,
            sha256="0" * 64,
        ),
        actor="bob",
        project_id=PROJECT,
    ).model_copy(update={"occurred_at": T0 + timedelta(milliseconds=500)})
    await harness.deliver(uploaded)
    # Handled after the upload: the same key, so the same partition, later in it.
    marker = DatasetDeleted(dataset_id=late_id, reason="marker")
    await _deliver(harness, Envelope.wrap(marker, actor="gateway", project_id=PROJECT))
    assert await _statuses(harness, dataset_id, BOB) == {404}


async def test_a_removal_delivered_before_the_addition_leaves_no_access(
    harness: Harness,
) -> None:
    dataset_id = await seed_dataset(harness)
    added = _change("viewer", at=T0)
    promoted = _change("editor", at=T0 + timedelta(seconds=1), was="viewer")
    removed = _change(None, at=T0 + timedelta(seconds=2), was="editor")

    await _deliver(harness, removed, promoted, added)

    assert await _statuses(harness, dataset_id, BOB) == {404}
    async with harness.service.database.sessions() as session:
        row = (
            (
                await session.execute(
                    select(project_members).where(project_members.c.user_id == "bob")
                )
            )
            .mappings()
            .one()
        )
    assert row["role"] is None  # the removal, kept as the newest known change
    # ... and a later addition does count: the removal is not a ban.
    await _deliver(harness, _change("viewer", at=T0 + timedelta(seconds=3)))
    assert await _statuses(harness, dataset_id, BOB) == {200}


async def test_duplicate_deliveries_are_harmless(harness: Harness) -> None:
    dataset_id = await seed_dataset(harness)
    added = _change("viewer", at=T0)
    removed = _change(None, at=T0 + timedelta(seconds=1), was="viewer")

    await _deliver(harness, added, added)
    assert await _statuses(harness, dataset_id, BOB) == {200}
    # The gateway's relay published the addition twice (a crash before it deleted the outbox
    # row): a copy with its own event id, arriving after the removal.
    copy = added.model_copy(update={"event_id": uuid.uuid4()})
    await _deliver(harness, removed, added, copy, removed)
    assert await _statuses(harness, dataset_id, BOB) == {404}
    async with harness.service.database.sessions() as session:
        rows = await session.scalar(
            select(func.count())
            .select_from(project_members)
            .where(project_members.c.user_id == "bob")
        )
    assert rows == 1


async def test_a_deleted_account_loses_every_membership(harness: Harness) -> None:
    dataset_id = await seed_dataset(harness)
    await _deliver(harness, _change("editor", at=T0))
    assert await _statuses(harness, dataset_id, BOB) == {200}

    deleted = Envelope.wrap(
        AccountDeleted(user_id="bob", memberships_removed=1, api_keys_revoked=0), actor="bob"
    ).model_copy(update={"occurred_at": T0 + timedelta(seconds=5)})
    await _deliver(harness, deleted)
    assert await _statuses(harness, dataset_id, BOB) == {404}
    # A role change made before the deletion, delivered after it, gives nothing back.
    await _deliver(harness, _change("viewer", at=T0 + timedelta(seconds=4), was="editor"))
    assert await _statuses(harness, dataset_id, BOB) == {404}
    assert await _statuses(harness, dataset_id, ALICE) == {200}
