"""GDPR: a user exports everything held about them, and deletes their account (audited)."""

from pathlib import Path

from sds_common.events import Envelope
from tests.unit.gateway.harness import ALICE, BOB, CAROL, Harness, running_gateway
from tests.unit.gateway.test_tenant_isolation import SETTINGS, _alice_owns_everything


async def _relayed(gw: Harness, topic: str, event_type: str, count: int) -> list[Envelope]:
    physical = gw.settings.topic(topic)

    async def arrived() -> bool:
        return len(gw.emitted(physical, event_type)) >= count

    await gw.until(arrived)
    return gw.emitted(physical, event_type)


async def test_export_holds_everything_about_the_caller_and_nothing_else(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        mine = await gw.create_project("mine")
        dataset_id = await gw.ready_dataset(mine)
        key_id, token = await gw.api_key(mine)
        theirs = await gw.create_project("bob's", user=BOB)
        await gw.add_member(theirs, ALICE, role="editor", user=BOB)
        bobs_upload = await gw.upload(theirs, user=BOB)
        assert bobs_upload.status_code == 202
        answer = await gw.call("GET", "/api/v1/me/export")
        assert answer.status_code == 200, answer.text
        export = answer.json()
        assert export["user"]["id"] == "alice"
        assert export["user"]["email"] == "alice@example.com"
        assert {m["project_id"]: m["role"] for m in export["memberships"]} == {
            mine: "owner",
            theirs: "editor",
        }
        assert [p["id"] for p in export["created"]["projects"]] == [mine]
        assert [d["id"] for d in export["created"]["datasets"]] == [dataset_id]
        assert export["created"]["datasets"][0]["object_key"].startswith(f"datasets/{dataset_id}/")
        assert [k["id"] for k in export["api_keys"]] == [key_id]
        assert "secret_hash" not in export["api_keys"][0]
        assert token not in answer.text
        assert bobs_upload.json()["id"] not in answer.text
        assert "bob@example.com" not in answer.text
        assert export["held_elsewhere"]


async def test_deleting_an_account_erases_it_and_is_audited(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        alone = await gw.create_project("mine alone")
        dataset_id = await gw.ready_dataset(alone)
        await gw.storage.put_bytes(f"datasets/{dataset_id}/profile.json", b"{}")
        await gw.storage.put_bytes(f"generators/{dataset_id}-unrelated/model.bin", b"x")
        _, token = await gw.api_key(alone, access="write")
        shared = await gw.create_project("shared")
        await gw.add_member(shared, CAROL, role="owner")
        kept_upload = await gw.upload(shared)
        assert kept_upload.status_code == 202
        theirs = await gw.create_project("bob's", user=BOB)
        await gw.add_member(theirs, ALICE, role="viewer", user=BOB)
        await gw.add_member(alone, BOB, role="editor")
        before = {o.key for o in await gw.storage.list("datasets/")}
        assert any(k.startswith(f"datasets/{dataset_id}/") for k in before)

        deleted = await gw.call("DELETE", "/api/v1/me")
        assert deleted.status_code == 200, deleted.text
        summary = deleted.json()
        assert summary["projects_deleted"] == [alone]
        assert summary["datasets_deleted"] == 1
        assert summary["memberships_removed"] == 3
        assert summary["api_keys_revoked"] == 1
        assert summary["objects_deleted"] == 2  # the upload and its profile

        remaining = {o.key for o in await gw.storage.list("")}
        assert not any(k.startswith(f"datasets/{dataset_id}/") for k in remaining)
        assert f"generators/{dataset_id}-unrelated/model.bin" in remaining
        assert any(k.startswith(f"datasets/{kept_upload.json()['id']}/") for k in remaining)
        # The project she owned alone is gone for everyone; the shared one stays with Carol.
        assert (await gw.call("GET", f"/api/v1/projects/{alone}", user=BOB)).status_code == 404
        shared_members = (
            await gw.call("GET", f"/api/v1/projects/{shared}/members", user=CAROL)
        ).json()
        assert [m["user_id"] for m in shared_members] == ["carol"]
        kept = await gw.call("GET", f"/api/v1/datasets/{kept_upload.json()['id']}", user=CAROL)
        assert kept.status_code == 200
        bobs = (await gw.call("GET", f"/api/v1/projects/{theirs}/members", user=BOB)).json()
        assert [m["user_id"] for m in bobs] == ["bob"]
        assert (await gw.call("GET", f"/api/v1/projects/{alone}", api_key=token)).status_code == 401

        (event,) = await _relayed(gw, "access", "AccountDeleted", 1)
        assert event.actor == "alice"
        assert event.payload["projects_deleted"] == [alone]
        assert event.payload["datasets_deleted"] == [dataset_id]
        assert event.payload["storage_prefixes"] == [f"datasets/{dataset_id}/"]
        assert "alice@example.com" not in event.to_bytes().decode()
        dataset_events = await _relayed(gw, "datasets", "DatasetDeleted", 1)
        assert [e.payload["dataset_id"] for e in dataset_events] == [dataset_id]
        revoked = await _relayed(gw, "access", "ApiKeyRevoked", 1)
        assert len(revoked) == 1

        # Signing in again starts afresh: nothing of the old account is left to see.
        export = (await gw.call("GET", "/api/v1/me/export")).json()
        assert export["memberships"] == []
        assert export["api_keys"] == []
        names = {p["name"] for p in export["created"]["projects"]}
        assert names == {"(deleted)", "shared"}  # her deleted project is blanked


async def test_deletion_removes_every_object_made_from_the_datasets(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, **SETTINGS) as gw:
        alice = await _alice_owns_everything(gw)
        generator, synthetic = alice.ids["generator"], alice.ids["synthetic"]
        for key in (f"models/{generator}/model.pt", f"models/{generator}/checkpoint.bin"):
            await gw.storage.put_bytes(key, b"weights")
        await gw.storage.put_bytes("reports/someone-else.html", b"<p>kept</p>")
        made = {o.key for o in await gw.storage.list("")}
        assert f"synthetic/{synthetic}/data.parquet" in made
        assert f"reports/{alice.ids['evaluation']}.html" in made
        deleted = await gw.call("DELETE", "/api/v1/me")
        assert deleted.status_code == 200, deleted.text
        assert {o.key for o in await gw.storage.list("")} == {"reports/someone-else.html"}
        assert deleted.json()["objects_deleted"] == len(made) - 1
