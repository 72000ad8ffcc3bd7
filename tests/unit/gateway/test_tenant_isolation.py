"""No route lets one user see or touch another user's resources, nor learn that they exist.

The walk is driven by the app's own OpenAPI document: every operation whose path, query or body
names a resource id is called as Bob with Alice's ids, and the answer must be exactly the one
Bob gets for an id that exists nowhere (so not even the status tells them apart). A route added
later is walked automatically; one with an id parameter the walk does not know fails the test
until it is taught below.
"""

import asyncio
import io
import itertools
import json
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.parquet as pq

from sds_common.events import EvaluationCompleted, ModelTrained, SyntheticDataGenerated
from sds_common.tables.public_metadata import ColumnProposal, SchemaProposal
from tests.unit.gateway.harness import ALICE, BOB, CAROL, Harness, running_gateway

#: What each id-named parameter (path, query or body field) refers to; ``job_id`` may be any of
#: the resources that run as jobs.
RESOURCES_BY_PARAM: dict[str, tuple[str, ...]] = {
    "project_id": ("project",),
    "dataset_id": ("dataset",),
    "generator_id": ("generator",),
    "synthetic_id": ("synthetic",),
    "synthetic_dataset_id": ("synthetic",),
    "evaluation_id": ("evaluation",),
    "job_id": ("generator", "synthetic", "evaluation", "dataset"),
    "webhook_id": ("webhook",),
    "delivery_id": ("delivery",),
    "key_id": ("api_key",),
    "user_id": ("member",),
}
CALL_TIMEOUT_S = 10.0
#: Alice's webhook targets a closed loopback port (allowed here), so its attempts fail at once.
WEBHOOK_TARGET = "http://127.0.0.1:9/alice"
SETTINGS: dict[str, Any] = {"webhook_allowed_targets": "127.0.0.1"}


@dataclass(frozen=True)
class Probe:
    """One request of the walk; ``ids`` maps each id-named parameter to a resource name."""

    method: str
    template: str
    path: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    body: dict[str, str] = field(default_factory=dict)
    json_base: Any = None
    multipart: bool = False

    @property
    def names_a_resource(self) -> bool:
        return bool(self.path or self.query or self.body)

    def label(self) -> str:
        where = {**self.path, **self.query, **self.body}
        return f"{self.method} {self.template} {where}"


def _schema(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """Resolve ``$ref`` and the first referenced branch of ``allOf``/``anyOf``."""
    if "$ref" in schema:
        resolved: dict[str, Any] = doc["components"]["schemas"][schema["$ref"].split("/")[-1]]
        return resolved
    for key in ("allOf", "anyOf", "oneOf"):
        for branch in schema.get(key, ()):
            if "$ref" in branch:
                return _schema(doc, branch)
    return schema


def _id_params(names: list[str], where: str, template: str) -> list[str]:
    unknown = [n for n in names if n.endswith("_id") and n not in RESOURCES_BY_PARAM]
    assert not unknown, f"{template}: teach the walk what {where} {unknown} refers to"
    return [n for n in names if n in RESOURCES_BY_PARAM]


def probes(doc: dict[str, Any]) -> list[Probe]:
    """Every request of the walk, reads first (so a leaking write cannot hide a leaking read)."""
    found: list[Probe] = []
    for template, operations in doc["paths"].items():
        for method, operation in operations.items():
            parameters = operation.get("parameters", [])
            path_names = [p["name"] for p in parameters if p["in"] == "path"]
            not_ids = [n for n in path_names if n not in RESOURCES_BY_PARAM]
            assert not not_ids, f"{template}: teach the walk what path {not_ids} refers to"
            query_names = _id_params(
                [p["name"] for p in parameters if p["in"] == "query"], "query", template
            )
            content: dict[str, Any] = operation.get("requestBody", {}).get("content", {})
            media = next(iter(content), None)
            schema = _schema(doc, content[media].get("schema", {})) if media else {}
            body_names = _id_params(list(schema.get("properties", {})), "body", template)
            base = (schema.get("examples") or [{}])[0] if media == "application/json" else None
            common: dict[str, Any] = {
                "method": method.upper(),
                "template": template,
                "json_base": base,
                "multipart": media == "multipart/form-data",
            }
            body = {n: RESOURCES_BY_PARAM[n][0] for n in body_names}
            if path_names:  # every resource each parameter may name
                choices = [[(n, r) for r in RESOURCES_BY_PARAM[n]] for n in path_names]
                found.extend(
                    Probe(path=dict(combo), body=body, **common)
                    for combo in itertools.product(*choices)
                )
                continue
            if body or method == "get":  # unfiltered lists must not show Alice's either
                found.append(Probe(body=body, **common))
            found.extend(Probe(query={n: RESOURCES_BY_PARAM[n][0]}, **common) for n in query_names)
    return sorted(found, key=lambda p: p.method != "GET")


@dataclass
class Tenant:
    """Alice's resources, by the names of ``RESOURCES_BY_PARAM``."""

    ids: dict[str, str]

    def fresh(self) -> "Tenant":
        """The same shape of ids, pointing at nothing."""
        return Tenant({name: str(uuid.uuid4()) for name in self.ids})


async def _alice_owns_everything(gw: Harness) -> Tenant:
    project_id = await gw.create_project("alice's")
    await gw.add_member(project_id, CAROL)
    key_id, _token = await gw.api_key(project_id, access="write")
    webhook = await gw.call(
        "POST",
        "/api/v1/webhooks",
        json={"project_id": project_id, "url": WEBHOOK_TARGET, "event_types": ["ModelTrained"]},
    )
    assert webhook.status_code == 201, webhook.text
    webhook_id = webhook.json()["id"]
    tested = await gw.call("POST", f"/api/v1/webhooks/{webhook_id}/test")
    assert tested.status_code == 202, tested.text
    dataset_id = await gw.ready_dataset(project_id)
    await gw.storage.put_bytes(f"datasets/{dataset_id}/profile.json", b'{"n_rows": 100}')
    proposal = SchemaProposal(n_rows=100, columns=(ColumnProposal(name="a", kind="numeric"),))
    await gw.storage.put_bytes(
        f"datasets/{dataset_id}/schema-proposal.json", proposal.model_dump_json().encode()
    )
    created = await gw.call(
        "POST",
        "/api/v1/generators",
        json={"dataset_id": dataset_id, "privacy": {"epsilon": 3.0, "delta": 1e-6}},
    )
    assert created.status_code == 202, created.text
    generator_id = created.json()["id"]
    generator, dataset = uuid.UUID(generator_id), uuid.UUID(dataset_id)
    fit_report = f"models/{generator_id}/privacy.json"
    await gw.storage.put_bytes(fit_report, b'{"epsilon": 2.9}')
    await gw.publish(
        ModelTrained(
            generator_id=generator,
            dataset_id=dataset,
            model_key=f"models/{generator_id}/model.pt",
            privacy_report_key=fit_report,
            method="dp-ctgan",
            epsilon=2.9,
            delta=1e-6,
            epochs=3,
            duration_s=1.0,
        )
    )
    await gw.until_status(f"/api/v1/generators/{generator_id}", "succeeded")
    sampled = await gw.call("POST", f"/api/v1/generators/{generator_id}/samples", json={})
    assert sampled.status_code == 202, sampled.text
    synthetic_id, evaluation_id = sampled.json()["id"], sampled.json()["evaluation_id"]
    sink = io.BytesIO()
    pq.write_table(pa.table({"a": [1, 2], "b": [3, 4]}), sink)
    key = f"synthetic/{synthetic_id}/data.parquet"
    await gw.storage.put_bytes(key, sink.getvalue())
    await gw.publish(
        SyntheticDataGenerated(
            generator_id=generator,
            synthetic_dataset_id=uuid.UUID(synthetic_id),
            dataset_id=dataset,
            object_key=key,
            rows=2,
        )
    )
    await gw.until_status(f"/api/v1/synthetic-datasets/{synthetic_id}", "succeeded")
    await gw.storage.put_bytes(f"reports/{evaluation_id}.html", b"<h1>report</h1>")
    await gw.publish(
        EvaluationCompleted(
            evaluation_id=uuid.UUID(evaluation_id),
            synthetic_dataset_id=uuid.UUID(synthetic_id),
            generator_id=generator,
            scores={"fidelity": 0.9},
            report_key=f"reports/{evaluation_id}.json",
            html_report_key=f"reports/{evaluation_id}.html",
        )
    )
    await gw.until_status(f"/api/v1/evaluations/{evaluation_id}", "succeeded")
    return Tenant(
        {
            "project": project_id,
            "dataset": dataset_id,
            "generator": generator_id,
            "synthetic": synthetic_id,
            "evaluation": evaluation_id,
            "member": CAROL[0],
            "api_key": key_id,
            "webhook": webhook_id,
            "delivery": tested.json()["id"],
        }
    )


async def _send(
    gw: Harness, probe: Probe, tenant: Tenant, user: Any, *, api_key: str | None = None
) -> httpx.Response:
    path = probe.template
    for name, resource in probe.path.items():
        path = path.replace(f"{{{name}}}", tenant.ids[resource])
    params = {name: tenant.ids[resource] for name, resource in probe.query.items()}
    fields = {name: tenant.ids[resource] for name, resource in probe.body.items()}
    kwargs: dict[str, Any] = {"params": params}
    if probe.multipart:
        kwargs["data"] = fields
        kwargs["files"] = {"file": ("t.csv", io.BytesIO(b"a,b\n1,2\n"), "text/csv")}
    elif probe.json_base is not None:
        kwargs["json"] = {**probe.json_base, **fields}
    return await asyncio.wait_for(
        gw.call(probe.method, path, user=user, api_key=api_key, **kwargs), timeout=CALL_TIMEOUT_S
    )


def _normalised(response: httpx.Response, tenant: Tenant) -> tuple[int, str]:
    text = response.text
    for value in tenant.ids.values():
        text = text.replace(value, "<id>")
    return response.status_code, re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "<uuid>", text)


def _leaks(response: httpx.Response, tenant: Tenant) -> list[str]:
    return [name for name, value in tenant.ids.items() if value in response.text]


async def test_every_route_hides_alices_resources_from_bob(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, **SETTINGS) as gw:
        alice = await _alice_owns_everything(gw)
        nobody = alice.fresh()
        walk = probes(gw.app.openapi())
        walked = {p.template for p in walk}
        with_ids = {t for t in gw.app.openapi()["paths"] if "{" in t}
        assert with_ids <= walked, with_ids - walked
        problems: list[str] = []
        alice_reads: dict[str, bool] = {}
        for probe in walk:
            bob = await _send(gw, probe, alice, BOB)
            unknown = await _send(gw, probe, nobody, BOB)
            status = bob.status_code
            if status == 403 or status >= 500:
                problems.append(f"{probe.label()}: {status} {bob.text[:200]}")
            if probe.path or probe.body:
                if status != 404:
                    problems.append(f"{probe.label()}: {status} instead of 404")
            elif probe.query and status not in {200, 404}:
                problems.append(f"{probe.label()}: {status} for a filter on a foreign id")
            if status < 300 and _leaks(bob, alice):
                problems.append(f"{probe.label()}: answered Alice's {_leaks(bob, alice)}")
            if probe.names_a_resource and _normalised(bob, alice) != _normalised(unknown, nobody):
                problems.append(
                    f"{probe.label()}: Alice's id is told apart from an unknown one: "
                    f"{status} {bob.text[:120]!r} vs {unknown.status_code} {unknown.text[:120]!r}"
                )
            if probe.method == "GET" and probe.names_a_resource:
                mine = await _send(gw, probe, alice, ALICE)
                key = f"GET {probe.template}"
                alice_reads[key] = alice_reads.get(key, False) or mine.status_code == 200
        assert not problems, "\n".join(problems)
        # The control: every read probed Alice's real resources (the 404s above mean something).
        assert alice_reads, "the walk found no read naming a resource"
        assert all(alice_reads.values()), {k: v for k, v in alice_reads.items() if not v}
        await _alice_still_has_everything(gw, alice)


async def _alice_still_has_everything(gw: Harness, alice: Tenant) -> None:
    """Bob's writes (deletes, cancels, renames) above changed nothing of Alice's."""
    project = (await gw.call("GET", f"/api/v1/projects/{alice.ids['project']}")).json()
    assert project["name"] == "alice's"
    dataset = (await gw.call("GET", f"/api/v1/datasets/{alice.ids['dataset']}")).json()
    assert dataset["status"] == "ready"
    generator = (await gw.call("GET", f"/api/v1/generators/{alice.ids['generator']}")).json()
    assert generator["status"] == "succeeded"
    generators = (
        await gw.call("GET", "/api/v1/generators", params={"project_id": alice.ids["project"]})
    ).json()
    assert [g["id"] for g in generators["items"]] == [alice.ids["generator"]]
    evaluations = (
        await gw.call(
            "GET", "/api/v1/evaluations", params={"synthetic_dataset_id": alice.ids["synthetic"]}
        )
    ).json()
    assert [e["id"] for e in evaluations["items"]] == [alice.ids["evaluation"]]
    webhook = (await gw.call("GET", f"/api/v1/webhooks/{alice.ids['webhook']}")).json()
    assert (webhook["url"], webhook["enabled"]) == (WEBHOOK_TARGET, True)
    bobs = (await gw.call("GET", "/api/v1/projects", user=BOB)).json()
    assert bobs["items"] == []
    assert json.dumps(bobs).count(alice.ids["project"]) == 0
    members = (await gw.call("GET", f"/api/v1/projects/{alice.ids['project']}/members")).json()
    assert {(m["user_id"], m["role"]) for m in members} == {("alice", "owner"), ("carol", "viewer")}
    keys = (await gw.call("GET", "/api/v1/api-keys")).json()["items"]
    assert [(k["id"], k["revoked_at"]) for k in keys if k["id"] == alice.ids["api_key"]] == [
        (alice.ids["api_key"], None)
    ]


async def test_an_api_key_reaches_nothing_outside_its_project(tmp_path: Path) -> None:
    """The same walk with Alice's own write key, scoped to another of her projects.

    Alice is the owner of everything probed, so only the key's scope stands between it and her
    resources: each must be exactly as unknown to it as to Bob. Routes no key may use (its own
    key management, the account) refuse it with 403 whatever the id.
    """
    async with running_gateway(tmp_path, **SETTINGS) as gw:
        alice = await _alice_owns_everything(gw)
        elsewhere = await gw.create_project("alice's other")
        _key_id, token = await gw.api_key(elsewhere, access="write")
        nobody = alice.fresh()
        problems: list[str] = []
        refused_outright = 0
        for probe in probes(gw.app.openapi()):
            keyed = await _send(gw, probe, alice, ALICE, api_key=token)
            unknown = await _send(gw, probe, nobody, ALICE, api_key=token)
            status = keyed.status_code
            not_for_keys = status == 403 and keyed.json().get("code") == "api_key_not_allowed"
            refused_outright += not_for_keys
            if status >= 500 or (status == 403 and not not_for_keys):
                problems.append(f"{probe.label()}: {status} {keyed.text[:200]}")
            elif (probe.path or probe.body) and status != 404 and not not_for_keys:
                problems.append(f"{probe.label()}: {status} instead of 404")
            if status < 300 and _leaks(keyed, alice):
                problems.append(f"{probe.label()}: answered {_leaks(keyed, alice)}")
            if probe.names_a_resource and _normalised(keyed, alice) != _normalised(unknown, nobody):
                problems.append(f"{probe.label()}: the key tells Alice's id from an unknown one")
        assert not problems, "\n".join(problems)
        assert refused_outright >= 1  # DELETE /api-keys/{key_id}: no key manages keys
        listed = (await gw.call("GET", "/api/v1/projects", api_key=token)).json()["items"]
        assert [p["id"] for p in listed] == [elsewhere]
        assert listed[0]["role"] == "editor"  # Alice owns it; a write key never manages
        await _alice_still_has_everything(gw, alice)
