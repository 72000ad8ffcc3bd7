"""Bad input through the public API of the embedded studio: each refusal is precise and clean.

Every test checks the answer a user gets (HTTP status, stable code, a message naming what is
wrong and where) and that nothing was half-written: no derived objects next to a rejected upload,
no generator left queued or running, no privacy budget reserved or spent.
"""

from __future__ import annotations

import io
import random
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sds_studio.client import StudioClient, StudioError
from tests.e2e.conftest import ADULT, E2E_PARAMS

pytestmark = pytest.mark.slow

#: The upload limit of the studio built by the ``limited`` fixture.
SMALL_LIMIT = 4096


def _objects(tmp_path: Path, dataset_id: str = "") -> list[str]:
    """Keys in the embedded object store (the ``embedded`` fixture keeps it under tmp_path)."""
    root = tmp_path / "studio" / "objects"
    base = root / "datasets" / dataset_id if dataset_id else root
    if not base.exists():
        return []
    return sorted(str(p.relative_to(root)) for p in base.rglob("*") if p.is_file())


async def _project(client: StudioClient) -> str:
    project = await client.create_project("bad input")
    return str(project["id"])


async def _upload(
    client: StudioClient, tmp_path: Path, name: str, content: bytes, *, target: str | None = None
) -> dict[str, Any]:
    path = tmp_path / name
    path.write_bytes(content)
    dataset = await client.upload(path, project_id=await _project(client), target=target)
    return await client.wait(f"/datasets/{dataset['id']}")


async def _assert_rejected_cleanly(
    client: StudioClient, tmp_path: Path, dataset: dict[str, Any], *, code: str
) -> dict[str, Any]:
    """The dataset is rejected with ``code``, derived nothing, and refuses further work."""
    assert dataset["status"] == "rejected", dataset
    error: dict[str, Any] = dataset["error"]
    assert error["code"] == code, error
    assert dataset["columns"] is None
    assert dataset["n_rows"] is None
    # Only the raw upload is stored: no table, split or profile of a refused file.
    stored = _objects(tmp_path, dataset["id"])
    assert stored, "the raw upload should be kept for the owner to inspect"
    assert all("/raw/" in key for key in stored), stored
    with pytest.raises(StudioError) as profile:
        await client.get(f"/datasets/{dataset['id']}/profile")
    assert profile.value.status == 409
    assert error["message"] in profile.value.detail
    with pytest.raises(StudioError) as train:
        await client.train(dataset["id"], epsilon=1.0)
    assert (train.value.status, train.value.code) == (409, "dataset_not_ready")
    generators = await client.get(f"/generators?dataset_id={dataset['id']}")
    assert generators["items"] == []
    return error


# ---------------------------------------------------------------------- uploads


async def test_empty_file_is_refused_at_upload(embedded: StudioClient, tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    project_id = await _project(embedded)
    with pytest.raises(StudioError) as refused:
        await embedded.upload(path, project_id=project_id)
    assert (refused.value.status, refused.value.code) == (422, "empty_file")
    assert "empty" in refused.value.detail
    assert (await embedded.get("/datasets"))["items"] == []
    assert _objects(tmp_path) == []


async def test_header_only(embedded: StudioClient, tmp_path: Path) -> None:
    dataset = await _upload(embedded, tmp_path, "header.csv", b"age,city,income\n")
    error = await _assert_rejected_cleanly(embedded, tmp_path, dataset, code="no_rows")
    assert error["message"] == "the table has a header but no data rows"


async def test_one_column(embedded: StudioClient, tmp_path: Path) -> None:
    content = "age\n" + "".join(f"{20 + i % 50}\n" for i in range(200))
    dataset = await _upload(embedded, tmp_path, "one.csv", content.encode())
    error = await _assert_rejected_cleanly(embedded, tmp_path, dataset, code="too_few_columns")
    assert "1 column(s); at least 2 are needed" in error["message"]
    assert "delimiter" in error["message"]


async def test_binary_garbage_named_csv(embedded: StudioClient, tmp_path: Path) -> None:
    garbage = random.Random(1).randbytes(4096)
    dataset = await _upload(embedded, tmp_path, "table.csv", garbage)
    error = await _assert_rejected_cleanly(embedded, tmp_path, dataset, code="bad_format")
    assert "uploaded as csv" in error["message"]
    assert "binary data" in error["message"]


async def test_text_in_no_recognisable_encoding(embedded: StudioClient, tmp_path: Path) -> None:
    # High bytes in no pattern any legacy code page produces: not UTF-8, and no confident guess.
    rng = random.Random(0)
    content = b"a,b\n" + bytes(rng.randrange(0x80, 0x100) for _ in range(300)) + b",1\n"
    dataset = await _upload(embedded, tmp_path, "mojibake.csv", content)
    error = await _assert_rejected_cleanly(embedded, tmp_path, dataset, code="bad_encoding")
    assert "not valid UTF-8" in error["message"]
    assert "byte offset 4, line 2" in error["message"]
    assert "save it as UTF-8" in error["message"]
    assert error["row"] == 2


async def test_ragged_rows_name_the_line(embedded: StudioClient, tmp_path: Path) -> None:
    content = b"a,b,c\n1,2,3\n4,5,6\n7,8\n9,10,11\n"
    dataset = await _upload(embedded, tmp_path, "ragged.csv", content)
    error = await _assert_rejected_cleanly(embedded, tmp_path, dataset, code="ragged_rows")
    assert error["row"] == 4
    assert error["message"].startswith("line 4 has 2 field(s) but the header has 3")


async def test_all_null_column_is_dropped(embedded: StudioClient, tmp_path: Path) -> None:
    frame = pd.read_csv(ADULT, usecols=["age", "workclass", "income"]).head(300)
    frame["notes"] = ""  # no value in any row
    frame.loc[::3, "notes"] = "NA"  # missing markers count as empty too
    dataset = await _upload(
        embedded, tmp_path, "nulls.csv", frame.to_csv(index=False).encode(), target="income"
    )
    assert dataset["status"] == "ready", dataset
    assert [c["name"] for c in dataset["columns"]] == ["age", "workclass", "income"]
    assert dataset["n_columns"] == 3
    profile = await embedded.get(f"/datasets/{dataset['id']}/profile")
    assert [c["name"] for c in profile["columns"]] == ["age", "workclass", "income"]
    dropped = [(w["code"], w["column"]) for w in profile["warnings"]]
    assert ("empty_column_dropped", "notes") in dropped


async def test_100k_distinct_values_are_an_identifier_not_modelled(
    embedded: StudioClient, tmp_path: Path
) -> None:
    n = 100_000
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "customer": [f"C{i:07d}" for i in rng.permutation(n)],
            "age": rng.integers(18, 90, n),
            "plan": rng.choice(["basic", "plus", "pro"], n),
        }
    )
    dataset = await _upload(embedded, tmp_path, "customers.csv", frame.to_csv(index=False).encode())
    assert dataset["status"] == "ready", dataset
    assert dataset["n_rows"] == n
    kinds = {c["name"]: (c["kind"], c["distinct"]) for c in dataset["columns"]}
    assert kinds["customer"] == ("identifier", n)
    profile = await embedded.get(f"/datasets/{dataset['id']}/profile")
    (customer,) = (c for c in profile["columns"] if c["name"] == "customer")
    # Identifiers are described by their lengths only: no value of them is published.
    assert "top" not in customer
    assert "C00" not in str(customer)


async def test_identifier_column_is_not_modelled(embedded: StudioClient, tmp_path: Path) -> None:
    # The same rule on a table small enough to train in seconds: unique ids are not learnt,
    # they come back regenerated (unique, none of them a real one).
    frame = pd.read_csv(ADULT, usecols=["age", "workclass", "income"]).sample(n=400, random_state=3)
    frame.insert(0, "customer", [f"C{i:07d}" for i in range(len(frame))])
    dataset = await _upload(
        embedded, tmp_path, "ids.csv", frame.to_csv(index=False).encode(), target="income"
    )
    assert dataset["status"] == "ready", dataset
    assert dataset["columns"][0]["kind"] == "identifier"
    params = {"epochs": 1, "batch_size": 160, "public_metadata": E2E_PARAMS["public_metadata"]}
    generator = await embedded.train(dataset["id"], method="dp-ctgan", epsilon=1.0, params=params)
    generator = await embedded.wait(f"/generators/{generator['id']}")
    assert generator["status"] == "succeeded", generator
    synthetic = await embedded.sample(generator["id"], rows=200, seed=3)
    synthetic = await embedded.wait(f"/synthetic-datasets/{synthetic['id']}")
    assert synthetic["status"] == "succeeded", synthetic
    sampled = pd.read_csv(
        await embedded.download(
            f"/synthetic-datasets/{synthetic['id']}/download?format=csv", tmp_path / "s.csv"
        )
    )
    assert len(sampled) == 200
    assert list(sampled.columns) == list(frame.columns)
    assert sampled["customer"].is_unique
    assert not set(sampled["customer"].astype(str)) & set(frame["customer"])


async def test_deeply_nested_json_lines_are_rejected_not_left_uploaded(
    embedded: StudioClient, tmp_path: Path
) -> None:
    """Finding 5: the handler hit RecursionError, the event was dead-lettered, no answer came."""
    depth = 2000
    content = '{"a": 1, "b": 2}\n{"a": ' + "[" * depth + "]" * depth + ', "b": 1}\n'
    dataset = await _upload(embedded, tmp_path, "deep.jsonl", content.encode())
    error = await _assert_rejected_cleanly(embedded, tmp_path, dataset, code="json_too_deep")
    assert error["row"] == 2
    assert "SDS_DATASETS_MAX_JSON_DEPTH" in error["message"]


async def test_parquet_that_inflates_is_rejected_before_it_is_decoded(
    embedded: StudioClient, tmp_path: Path
) -> None:
    """Finding 6: 1,816 bytes of Parquet (400 rows of a 256 KiB string) were loaded whole."""
    buffer = io.BytesIO()
    table = pa.table({"note": ["x" * 256 * 1024] * 400, "n": list(range(400))})
    pq.write_table(table, buffer, compression="zstd")
    assert len(buffer.getvalue()) < 2000
    dataset = await _upload(embedded, tmp_path, "inflating.parquet", buffer.getvalue())
    error = await _assert_rejected_cleanly(embedded, tmp_path, dataset, code="cell_too_large")
    assert error["column"] == "note"
    assert "SDS_DATASETS_MAX_CELL_BYTES" in error["message"]


@pytest.fixture
def _small_upload_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    # Read by the gateway's settings when the embedded app is built (``embedded`` below).
    monkeypatch.setenv("SDS_MAX_UPLOAD_BYTES", str(SMALL_LIMIT))


@pytest.fixture
def limited(_small_upload_limit: None, embedded: StudioClient) -> StudioClient:
    """The embedded studio with an upload limit of ``SMALL_LIMIT`` bytes."""
    return embedded


@pytest.mark.parametrize(
    "size",
    [
        pytest.param(SMALL_LIMIT + 1, id="streamed-past-the-limit"),
        pytest.param(SMALL_LIMIT + 512 * 1024, id="declared-length-over-the-limit"),
    ],
)
async def test_upload_over_the_size_limit(limited: StudioClient, tmp_path: Path, size: int) -> None:
    line = b"12345,abcdef,67890\n"
    content = (b"a,b,c\n" + line * (size // len(line) + 1))[:size]
    path = tmp_path / "big.csv"
    path.write_bytes(content)
    project_id = await _project(limited)
    with pytest.raises(StudioError) as refused:
        await limited.upload(path, project_id=project_id)
    assert (refused.value.status, refused.value.code) == (413, "upload_too_large")
    assert f"limit of {SMALL_LIMIT} bytes" in refused.value.detail
    assert (await limited.get("/datasets"))["items"] == []
    assert _objects(tmp_path) == []

    # A file within the limit still goes through.
    small = tmp_path / "small.csv"
    small.write_bytes(content[: SMALL_LIMIT - 100].rsplit(b"\n", 1)[0] + b"\n")
    accepted = await limited.upload(small, project_id=project_id)
    assert accepted["size_bytes"] == small.stat().st_size


# ---------------------------------------------------------------------- privacy settings


async def _ready_dataset(client: StudioClient, tmp_path: Path, rows: int = 300) -> dict[str, Any]:
    frame = pd.read_csv(ADULT).sample(n=rows, random_state=5)
    dataset = await _upload(
        client, tmp_path, "adult.csv", frame.to_csv(index=False).encode(), target="income"
    )
    assert dataset["status"] == "ready", dataset
    return dataset


async def _request(client: StudioClient, dataset_id: str, privacy: dict[str, Any]) -> Any:
    return await client.call(
        "POST",
        "/generators",
        json={"dataset_id": dataset_id, "method": "dp-ctgan", "privacy": privacy},
    )


async def _assert_budget_untouched(client: StudioClient, dataset_id: str) -> None:
    budget = await client.get(f"/datasets/{dataset_id}/privacy-budget")
    assert budget["entries"] == []
    assert budget["totals"]["spent_epsilon"] == 0
    assert budget["totals"]["reserved_epsilon"] == 0


async def test_dp_parameters_out_of_range_are_refused(
    embedded: StudioClient, tmp_path: Path
) -> None:
    client = embedded
    dataset = await _ready_dataset(client, tmp_path)
    n = dataset["train_rows"]

    # Refused by the request model itself.
    for privacy, where in (
        ({"epsilon": 0}, "privacy.epsilon"),
        ({"epsilon": -1}, "privacy.epsilon"),
        ({"epsilon": 1, "delta": 1.0}, "privacy.delta"),
        ({"epsilon": 1, "delta": 0}, "privacy.delta"),
    ):
        with pytest.raises(StudioError) as refused:
            await _request(client, dataset["id"], privacy)
        assert (refused.value.status, refused.value.code) == (422, "validation_error")
        assert where in refused.value.detail, (privacy, refused.value.detail)
    with pytest.raises(StudioError) as missing:
        await client.call(
            "POST", "/generators", json={"dataset_id": dataset["id"], "params": _SMALL}
        )
    assert (missing.value.status, missing.value.code) == (422, "privacy_required")
    assert "privacy.epsilon" in missing.value.detail

    # Refused by the trainer's policy, which the gateway runs before anything is queued: the
    # reasons come back at once, and no generator is left to fail.
    cases = (
        ({"epsilon": 50.0}, ["ε = 50 is above the policy cap of 5"]),
        ({"epsilon": 1.0, "delta": 0.01}, ["δ = 0.01 is not far below 1/n", f"{1 / n:g}"]),
    )
    for privacy, fragments in cases:
        body = {"dataset_id": dataset["id"], "privacy": privacy, "params": _SMALL}
        with pytest.raises(StudioError) as refused:
            await client.call("POST", "/generators", json=body)
        assert (refused.value.status, refused.value.code) == (422, "invalid_privacy")
        for fragment in fragments:
            assert fragment in refused.value.detail, refused.value.detail
    assert (await client.get(f"/generators?dataset_id={dataset['id']}"))["items"] == []
    await _assert_budget_untouched(client, dataset["id"])


#: Parameters that fit the 240 training rows of ``_ready_dataset`` and train in seconds.
_SMALL: dict[str, Any] = {
    "epochs": 1,
    "batch_size": 120,
    "public_metadata": {"income": {"categories": ["<=50K", ">50K"]}},
}


async def test_non_finite_numbers_and_loose_types_are_refused_at_the_door(
    embedded: StudioClient, tmp_path: Path
) -> None:
    """Finding 4: ``1e999`` was echoed as null and the generator stayed queued forever."""
    client = embedded
    dataset = await _ready_dataset(client, tmp_path)
    for number in ("1e999", "Infinity", "-Infinity", "NaN"):
        body = f'{{"dataset_id": "{dataset["id"]}", "privacy": {{"epsilon": {number}}}}}'
        with pytest.raises(StudioError) as refused:
            # Raw bytes: a JSON encoder would not write these numbers.
            await client.call(
                "POST",
                "/generators",
                content=body.encode(),
                headers={"Content-Type": "application/json"},
            )
        assert (refused.value.status, refused.value.code) == (422, "validation_error"), number
        assert "privacy.epsilon" in refused.value.detail
    assert (await client.get(f"/generators?dataset_id={dataset['id']}"))["items"] == []

    generator = await client.train(dataset["id"], method="dp-ctgan", epsilon=1.0, params=_SMALL)
    generator = await client.wait(f"/generators/{generator['id']}")
    assert generator["status"] == "succeeded", generator
    for rows in ("100", True, 100.0, "1e999"):
        with pytest.raises(StudioError) as refused:
            await client.call("POST", f"/generators/{generator['id']}/samples", json={"rows": rows})
        assert (refused.value.status, refused.value.code) == (422, "validation_error"), rows
    assert (await client.get("/evaluations"))["items"] == []


async def test_what_the_trainer_would_refuse_is_refused_before_it_is_queued(
    embedded: StudioClient, tmp_path: Path
) -> None:
    """Finding 8: each of these got 202, then a failed job (one an ``internal_error``)."""
    client = embedded
    dataset = await _ready_dataset(client, tmp_path)
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"method": "gan"}, "unknown_method", "valid methods: aim, auto, ctgan, dp-ctgan, mst"),
        ({"privacy": {"epsilon": 1e9}}, "invalid_privacy", "above the policy cap of 5"),
        ({"privacy": {"epsilon": 1.0, "delta": 0.5}}, "invalid_privacy", "not far below 1/n"),
        ({"params": {"epochs": -5}}, "invalid_params", "params.epochs"),
        ({"params": {"batch_size": 0}}, "invalid_params", "params.batch_size"),
        ({"params": {"speed": 3}}, "invalid_params", "unknown parameter 'speed'"),
        (
            {"params": {"public_metadata": {"salary": {"bounds": [0, 1]}}}},
            "invalid_public_metadata",
            "unknown column 'salary'",
        ),
    ]
    for change, code, fragment in cases:
        body = {"dataset_id": dataset["id"], "method": "dp-ctgan", "privacy": {"epsilon": 1.0}}
        body.update(change)
        body["params"] = {**_SMALL, **change.get("params", {})}
        with pytest.raises(StudioError) as refused:
            await client.call("POST", "/generators", json=body)
        assert (refused.value.status, refused.value.code) == (422, code), (change, refused.value)
        assert fragment in refused.value.detail, refused.value.detail
    assert (await client.get(f"/generators?dataset_id={dataset['id']}"))["items"] == []
    await _assert_budget_untouched(client, dataset["id"])

    generator = await client.train(dataset["id"], method="dp-ctgan", epsilon=1.0, params=_SMALL)
    generator = await client.wait(f"/generators/{generator['id']}")
    assert generator["status"] == "succeeded", generator
    path = f"/generators/{generator['id']}/samples"
    for conditions, fragment in (
        ({"salary": "high"}, "unknown column 'salary'"),
        ({"age": 40}, "'age' is numeric"),
        ({"income": ">50K", "sex": "Male"}, "at most 1 column(s)"),
    ):
        with pytest.raises(StudioError) as refused:
            await client.call("POST", path, json={"rows": 10, "conditions": conditions})
        assert (refused.value.status, refused.value.code) == (422, "invalid_conditions")
        assert fragment in refused.value.detail, refused.value.detail
    assert (await client.get("/evaluations"))["items"] == []


async def test_sampling_an_unfinished_generator_is_refused(
    embedded: StudioClient, tmp_path: Path
) -> None:
    client = embedded
    dataset = await _ready_dataset(client, tmp_path)
    generator = await client.train(
        dataset["id"],
        method="dp-ctgan",
        epsilon=1.0,
        params={**_SMALL, "epochs": 500, "batch_size": 20},
    )
    await client.call("POST", f"/generators/{generator['id']}/cancel")
    generator = await client.wait(f"/generators/{generator['id']}")
    assert generator["status"] == "cancelled", generator

    with pytest.raises(StudioError) as refused:
        await client.sample(generator["id"], rows=10)
    assert (refused.value.status, refused.value.code) == (409, "generator_not_ready")
    assert f"generator {generator['id']} cancelled" in refused.value.detail
    assert "only be sampled from a succeeded generator" in refused.value.detail
    # Neither a synthetic dataset nor its automatic evaluation was recorded.
    assert (await client.get("/evaluations"))["items"] == []
    assert (await client.get(f"/generators/{generator['id']}"))["status"] == "cancelled"


async def test_uploading_the_same_file_again_does_not_reset_the_budget(
    embedded: StudioClient, tmp_path: Path
) -> None:
    """Finding 11: the byte-identical file uploaded again had a fresh budget of ε = 5."""
    client = embedded
    project_id = await _project(client)
    path = tmp_path / "adult.csv"
    pd.read_csv(ADULT).sample(n=300, random_state=5).to_csv(path, index=False)

    async def upload(source: str | None = None, file: Path = path) -> dict[str, Any]:
        dataset = await client.upload(file, project_id=project_id, target="income", source=source)
        ready = await client.wait(f"/datasets/{dataset['id']}")
        assert ready["status"] == "ready", ready
        return ready

    first = await upload()
    generator = await client.train(first["id"], method="dp-ctgan", epsilon=4.0, params=_SMALL)
    generator = await client.wait(f"/generators/{generator['id']}")
    assert generator["status"] == "succeeded", generator
    spent = generator["epsilon"]

    # The same bytes again, even under a source label: the first upload's ledger, as it stands.
    for again in (await upload(), await upload(source="adult extract")):
        budget = await client.get(f"/datasets/{again['id']}/privacy-budget")
        assert budget["ledger"] == f"sha256:{first['sha256']}"
        assert budget["totals"]["spent_epsilon"] == pytest.approx(spent)
        assert budget["totals"]["remaining_epsilon"] == pytest.approx(5.0 - spent)
        assert {e["dataset_id"] for e in budget["entries"]} == {first["id"]}
        with pytest.raises(StudioError) as refused:
            await client.train(again["id"], method="dp-ctgan", epsilon=2.0, params=_SMALL)
        assert (refused.value.status, refused.value.code) == (422, "budget_exhausted")

    # New extracts of one population, linked by their owner, share that source's ledger.
    extracts = []
    for seed in (6, 7):
        extracts.append(tmp_path / f"extract-{seed}.csv")
        pd.read_csv(ADULT).sample(n=300, random_state=seed).to_csv(extracts[-1], index=False)
    older = await upload("adult cohort", extracts[0])
    trained = await client.train(older["id"], method="dp-ctgan", epsilon=1.0, params=_SMALL)
    trained = await client.wait(f"/generators/{trained['id']}")
    assert trained["status"] == "succeeded", trained
    newer = await upload("adult cohort", extracts[1])
    budget = await client.get(f"/datasets/{newer['id']}/privacy-budget")
    assert budget["ledger"] == "source:adult cohort"
    assert budget["totals"]["spent_epsilon"] == pytest.approx(trained["epsilon"])
