"""Who reads a generator's privacy report and model card: admins and its project's members.

Membership comes from the log's own ``ProjectMembershipChanged`` and ``AccountDeleted`` records,
applied in the order they occurred. The audit log itself (events, trails, verification) stays
for admins only.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from sds_common.auth import KeyAccess, KeyScope, signed_headers
from sds_common.events import AccountDeleted, Envelope, ProjectMembershipChanged
from tests.unit.audit.flow import PROJECT, G
from tests.unit.audit.harness import ADMIN, SECRET, AuditHarness, deliver_flow, running_audit

REPORTS = (
    f"/api/v1/audit/generators/{G}/privacy-report",
    f"/api/v1/audit/generators/{G}/model-card",
)
BOB = ("bob", "bob@example.com", "user")
CAROL = ("carol", "carol@example.com", "user")
DAN = ("dan", "dan@example.com", "user")


async def _membership(
    audit: AuditHarness, user_id: str, role: str | None, *, project: str = PROJECT
) -> Envelope:
    count = await audit.count()
    envelope = await audit.publish(
        ProjectMembershipChanged(user_id=user_id, project_id=uuid.UUID(project), role=role),
        actor="alice",
        project_id=project,
    )
    await audit.until_count(count + 1)
    return envelope


async def _statuses(audit: AuditHarness, user: tuple[str, str, str]) -> list[int]:
    return [(await audit.call("GET", path, user=user)).status_code for path in REPORTS]


async def test_members_of_the_generators_project_read_its_reports(tmp_path: Path) -> None:
    async with running_audit(tmp_path) as audit:
        await deliver_flow(audit)
        await _membership(audit, "bob", "owner")
        await _membership(audit, "carol", "viewer")
        await _membership(audit, "dan", "owner", project=str(uuid.uuid4()))  # another project

        assert await _statuses(audit, BOB) == [200, 200]
        assert await _statuses(audit, CAROL) == [200, 200]
        card = await audit.call("GET", REPORTS[1], user=CAROL, params={"format": "html"})
        assert "Model card" in card.text
        # A member of another project is told the generator is unknown, like a stranger.
        refused = await audit.call("GET", REPORTS[0], user=DAN)
        assert (refused.status_code, refused.json()["code"]) == (404, "unknown_generator")
        # The log itself stays for admins.
        for path in (
            "/api/v1/audit/events",
            "/api/v1/audit/verify",
            f"/api/v1/audit/generators/{G}/trail",
        ):
            assert (await audit.call("GET", path, user=BOB)).status_code == 403


async def test_a_removed_member_or_deleted_account_reads_nothing(tmp_path: Path) -> None:
    async with running_audit(tmp_path) as audit:
        await deliver_flow(audit)
        await _membership(audit, "bob", "editor")
        added = await _membership(audit, "carol", "viewer")
        assert await _statuses(audit, BOB) == [200, 200]

        await _membership(audit, "bob", None)
        assert await _statuses(audit, BOB) == [404, 404]

        count = await audit.count()
        await audit.publish(
            AccountDeleted(user_id="carol", memberships_removed=1, api_keys_revoked=0),
            actor="carol",
        )
        await audit.until_count(count + 1)
        assert await _statuses(audit, CAROL) == [404, 404]

        # A membership change that occurred before the deletion, delivered late, grants nothing.
        late = added.model_copy(update={"event_id": uuid.uuid4()})
        await audit.deliver(late)
        await audit.until_count(count + 2)
        assert await _statuses(audit, CAROL) == [404, 404]


async def test_an_api_key_reads_the_reports_of_its_own_project_only(tmp_path: Path) -> None:
    async with running_audit(tmp_path) as audit:
        await deliver_flow(audit)
        await _membership(audit, "bob", "viewer")

        async def status(project: str, user: tuple[str, str, str]) -> int:
            scope = KeyScope(key_id=str(uuid.uuid4()), project_id=project, access=KeyAccess.READ)
            headers = signed_headers(
                SECRET,
                method="GET",
                path=REPORTS[0],
                user_id=user[0],
                email=user[1],
                role=user[2],
                scope=scope,
            )
            return (await audit.client.get(REPORTS[0], headers=headers)).status_code

        assert await status(PROJECT, BOB) == 200
        # Out of its scope, even a member's key sees nothing; an admin's key is no admin.
        await _membership(audit, "bob", "viewer", project=(other := str(uuid.uuid4())))
        assert await status(other, BOB) == 404
        assert await status(other, ADMIN) == 404
