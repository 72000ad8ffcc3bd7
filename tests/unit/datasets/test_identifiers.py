"""Row keys are identifiers whatever their name; measurements and categories are not."""

from __future__ import annotations

import random

import pandas as pd  # type: ignore[import-untyped, unused-ignore]
import pytest

from sds_common.tables import ColumnOverride
from sds_datasets.domain.pipeline import PreparedDataset
from tests.unit.datasets.conftest import Prepare, column


def _csv(columns: dict[str, list[str]]) -> str:
    names = list(columns)
    rows = zip(*(columns[name] for name in names), strict=True)
    return ",".join(names) + "\n" + "".join(",".join(row) + "\n" for row in rows)


def _with_filler(values: list[str], name: str = "x") -> str:
    rng = random.Random(1)
    return _csv({name: values, "filler": [rng.choice("abc") for _ in values]})


def _kind(prepared: PreparedDataset, name: str = "x") -> tuple[str, str]:
    entry = column(prepared, name)
    return entry["kind"], entry["kind_reason"]


def test_case_ids_that_repeat_a_little_are_an_identifier(prepare: Prepare) -> None:
    rng = random.Random(4)
    ids = [f"CASE-{i:05d}" for i in range(4_000)]
    values = ids + [rng.choice(ids) for _ in range(2_000)]
    rng.shuffle(values)
    kind, reason = _kind(prepare(_with_filler(values, "reference")), "reference")
    assert kind == "identifier"
    assert "4,000 distinct values in 6,000 rows" in reason
    assert "AAAA-99999" in reason


def test_unique_short_strings_are_an_identifier_whatever_the_name(prepare: Prepare) -> None:
    rng = random.Random(5)
    values = [f"{rng.getrandbits(40):x}{i}" for i in range(500)]
    kind, reason = _kind(prepare(_with_filler(values, "colour")), "colour")
    assert kind == "identifier"
    assert "distinct" in reason


def test_an_all_distinct_float_column_is_a_measurement(prepare: Prepare) -> None:
    rng = random.Random(6)
    values = [repr(rng.gauss(170, 10)) for _ in range(500)]
    kind, reason = _kind(prepare(_with_filler(values, "height_id")), "height_id")
    assert kind == "numeric"
    assert "measurement" in reason


def test_all_distinct_integers_without_evidence_are_numbers(prepare: Prepare) -> None:
    rng = random.Random(7)
    values = [str(v) for v in rng.sample(range(10_000, 90_000), 500)]
    kind, _ = _kind(prepare(_with_filler(values, "income")), "income")
    assert kind == "numeric"


def test_a_shuffled_sequence_of_integers_is_an_identifier(prepare: Prepare) -> None:
    values = [str(v) for v in range(1_000, 1_500)]
    random.Random(8).shuffle(values)
    kind, reason = _kind(prepare(_with_filler(values, "n")), "n")
    assert kind == "identifier"
    assert "sequence" in reason


def test_distinct_integers_named_like_a_key_are_an_identifier(prepare: Prepare) -> None:
    rng = random.Random(9)
    values = [str(v) for v in rng.sample(range(10**6), 300)]
    kind, reason = _kind(prepare(_with_filler(values, "customerId")), "customerId")
    assert kind == "identifier"
    assert "name" in reason


def test_a_repeating_integer_key_is_an_identifier(prepare: Prepare) -> None:
    rng = random.Random(10)
    keys = rng.sample(range(10**6), 4_000)
    values = [str(v) for v in keys + [rng.choice(keys) for _ in range(2_000)]]
    kind, _ = _kind(prepare(_with_filler(values, "patient_id")), "patient_id")
    assert kind == "identifier"


@pytest.mark.parametrize(
    ("distinct", "rows"),
    [(1_000, 6_000), (300, 6_000), (35, 6_300)],
)
def test_shaped_codes_that_repeat_are_categories(
    prepare: Prepare, distinct: int, rows: int
) -> None:
    codes = [f"SKU-{i:04d}" for i in range(distinct)]
    values = [codes[i % distinct] for i in range(rows)]
    kind, reason = _kind(prepare(_with_filler(values)))
    assert kind == "categorical"
    assert f"{distinct:,} distinct" in reason


def test_small_integer_codes_named_like_a_key_stay_numbers(prepare: Prepare) -> None:
    values = [str(i % 12 + 1) for i in range(400)]
    kind, _ = _kind(prepare(_with_filler(values, "region_id")), "region_id")
    assert kind == "numeric"


def test_every_column_says_why_it_got_its_kind(prepare: Prepare) -> None:
    prepared = prepare(_with_filler([str(i % 7) for i in range(50)]))
    assert all(entry["kind_reason"] for entry in prepared.profile["columns"])


def test_the_owner_marks_and_unmarks_identifiers(prepare: Prepare) -> None:
    rng = random.Random(11)
    source = _csv(
        {
            "code": [f"c{rng.randint(0, 30)}" for _ in range(300)],
            "ref": [f"R{i:04d}" for i in range(300)],
            "seq": [str(i) for i in range(300)],
        }
    )
    inferred = prepare(source)
    assert [_kind(inferred, name)[0] for name in ("code", "ref", "seq")] == [
        "categorical",
        "identifier",
        "identifier",
    ]
    overridden = prepare(
        source,
        overrides={
            "code": ColumnOverride(kind="identifier"),
            "ref": ColumnOverride(kind="categorical"),
            "seq": ColumnOverride(kind="numeric"),
        },
    )
    kinds = {name: _kind(overridden, name) for name in ("code", "ref", "seq")}
    assert {name: kind for name, (kind, _) in kinds.items()} == {
        "code": "identifier",
        "ref": "categorical",
        "seq": "numeric",
    }
    assert all("declared by the owner" in reason for _, reason in kinds.values())
    assert "was identifier" in kinds["ref"][1]
    assert next(c for c in overridden.columns if c.name == "seq").format.dtype == "Int64"  # type: ignore[union-attr]


def test_numbers_too_long_for_a_float_stay_as_written(prepare: Prepare) -> None:
    rng = random.Random(12)
    values = [str(4_000_000_000_000_000 + rng.getrandbits(52)) + "7" for _ in range(300)]
    prepared = prepare(_with_filler(values, "card"))
    kind, _ = _kind(prepared, "card")
    assert kind == "identifier"
    typed = pd.read_parquet(prepared.table_path)["card"]
    assert typed.tolist() == values  # every digit kept
