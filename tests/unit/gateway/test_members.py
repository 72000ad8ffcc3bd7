"""Project members: owners manage them, a project keeps an owner, non-members see nothing."""

from pathlib import Path

from sds_common.events import Envelope
from tests.unit.gateway.harness import ALICE, BOB, CAROL, Harness, running_gateway


async def _membership_changes(gw: Harness, count: int) -> list[Envelope]:
    """The ``ProjectMembershipChanged`` events relayed, once there are ``count`` of them."""
    topic = gw.settings.topic("access")

    async def relayed() -> bool:
        return len(gw.emitted(topic, "ProjectMembershipChanged")) == count

    await gw.until(relayed)
    return gw.emitted(topic, "ProjectMembershipChanged")


async def test_owners_add_change_and_remove_members(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        project_id = await gw.create_project()
        members = f"/api/v1/projects/{project_id}/members"
        unknown = await gw.call("POST", members, json={"email": "bob@example.com"})
        assert unknown.status_code == 404  # Bob has never signed in
        assert unknown.json()["code"] == "user_not_found"
        assert (await gw.call("GET", "/api/v1/projects", user=BOB)).status_code == 200
        added = await gw.call("POST", members, json={"email": "BOB@example.com", "role": "editor"})
        assert added.status_code == 201, added.text
        assert (added.json()["user_id"], added.json()["role"]) == ("bob", "editor")
        twice = await gw.call("POST", members, json={"user_id": "bob"})
        assert twice.status_code == 409
        both = await gw.call("POST", members, json={"user_id": "bob", "email": "bob@example.com"})
        assert both.status_code == 422
        listed = await gw.call("GET", members, user=BOB)
        assert [(m["user_id"], m["role"]) for m in listed.json()] == [
            ("alice", "owner"),
            ("bob", "editor"),
        ]
        assert listed.json()[1]["email"] == "bob@example.com"
        # Bob, an editor, can now write in the project, but not manage its members.
        renamed = await gw.call(
            "PATCH", f"/api/v1/projects/{project_id}", user=BOB, json={"name": "bob's too"}
        )
        assert renamed.status_code == 200, renamed.text
        await gw.call("GET", "/api/v1/projects", user=CAROL)
        by_bob = await gw.call("POST", members, user=BOB, json={"user_id": "carol"})
        assert by_bob.status_code == 403
        viewer = await gw.call("PATCH", f"{members}/bob", json={"role": "viewer"})
        assert viewer.json()["role"] == "viewer"
        refused = await gw.call(
            "PATCH", f"/api/v1/projects/{project_id}", user=BOB, json={"name": "no"}
        )
        assert refused.status_code == 403
        removed = await gw.call("DELETE", f"{members}/bob")
        assert removed.status_code == 204
        gone = await gw.call("GET", f"/api/v1/projects/{project_id}", user=BOB)
        assert gone.status_code == 404  # not a member any more: the project does not exist
        missing = await gw.call("PATCH", f"{members}/bob", json={"role": "owner"})
        assert missing.status_code == 404
        changes = await _membership_changes(gw, 4)
        # The creator's ownership is announced too: every membership has its event.
        assert [
            (e.payload["user_id"], e.payload["role"], e.payload["previous_role"]) for e in changes
        ] == [
            ("alice", "owner", None),
            ("bob", "editor", None),
            ("bob", "viewer", "editor"),
            ("bob", None, "viewer"),
        ]
        assert {e.actor for e in changes} == {"alice"}
        assert {e.project_id for e in changes} == {project_id}
        assert {e.payload["project_id"] for e in changes} == {project_id}


async def test_a_project_keeps_at_least_one_owner(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        project_id = await gw.create_project()
        members = f"/api/v1/projects/{project_id}/members"
        for call in (
            gw.call("PATCH", f"{members}/alice", json={"role": "editor"}),
            gw.call("DELETE", f"{members}/alice"),
        ):
            answer = await call
            assert answer.status_code == 409, answer.text
            assert answer.json()["code"] == "last_owner"
        await gw.add_member(project_id, CAROL, role="owner")
        stepped_down = await gw.call("PATCH", f"{members}/alice", json={"role": "viewer"})
        assert stepped_down.status_code == 200, stepped_down.text
        last = await gw.call("DELETE", f"{members}/carol", user=CAROL)
        assert last.status_code == 409  # Carol is now the only owner: she cannot leave
        left = await gw.call("DELETE", f"{members}/alice")  # a viewer may leave
        assert left.status_code == 204, left.text
        roles = (await gw.call("GET", members, user=CAROL)).json()
        assert [(m["user_id"], m["role"]) for m in roles] == [("carol", "owner")]
        assert ALICE[0] not in {m["user_id"] for m in roles}


async def test_deleting_a_project_removes_every_member(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        project_id = await gw.create_project()
        members = f"/api/v1/projects/{project_id}/members"
        await gw.call("GET", "/api/v1/projects", user=BOB)
        await gw.call("GET", "/api/v1/projects", user=CAROL)
        for user_id, role in (("bob", "editor"), ("carol", "viewer")):
            added = await gw.call("POST", members, json={"user_id": user_id, "role": role})
            assert added.status_code == 201, added.text
        assert (await gw.call("DELETE", f"/api/v1/projects/{project_id}")).status_code == 204
        again = await gw.call("DELETE", f"/api/v1/projects/{project_id}")
        assert again.status_code == 404  # gone: nothing is announced twice
        changes = await _membership_changes(gw, 6)
        assert [
            (e.payload["user_id"], e.payload["role"], e.payload["previous_role"])
            for e in changes[3:]
        ] == [
            ("alice", None, "owner"),
            ("bob", None, "editor"),
            ("carol", None, "viewer"),
        ]
        assert {e.payload["project_id"] for e in changes} == {project_id}
