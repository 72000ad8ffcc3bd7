"""Type inference on a mixed synthetic table, and the statistics each kind gets."""

from __future__ import annotations

import random
import uuid

import pandas as pd  # type: ignore[import-untyped, unused-ignore]
import pytest

from sds_datasets.domain.inference import infer_column
from sds_datasets.domain.limits import Limits
from sds_datasets.domain.pipeline import PreparedDataset
from tests.unit.datasets.conftest import Prepare, column

N = 400


@pytest.fixture(scope="module")
def mixed_csv() -> str:
    rng = random.Random(11)
    header = (
        "customer_id,uuid,age,income,level,member,active,signup,seen_at,us_date,colour,city,"
        "review,zip"
    )
    cities = [f"City{i}" for i in range(60)]
    words = ["great", "bad", "service", "fast", "slow", "would", "buy", "again", "never"]
    lines = [header] + [
        ",".join(
            [
                str(1000 + i),
                str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                str(rng.randint(18, 90)) if i % 25 else "",
                f"{rng.uniform(1000, 90000):.2f}",
                str(rng.randint(1, 16)),
                rng.choice(["yes", "no", "Yes"]),
                rng.choice(["0", "1"]),
                f"2023-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                f"2024-01-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:15:00",
                f"{rng.randint(1, 12):02d}/{rng.randint(13, 28)}/2022",
                rng.choice(["red", "green", "blue", "NA"]),
                rng.choice(cities),
                " ".join(rng.choices(words, k=rng.randint(5, 12))),
                f"0{rng.randint(1000, 1019)}",
            ]
        )
        for i in range(N)
    ]
    return "\n".join(lines) + "\n"


@pytest.fixture
def mixed(prepare: Prepare, mixed_csv: str) -> PreparedDataset:
    return prepare(mixed_csv)


def test_kinds_of_a_mixed_table(mixed: PreparedDataset) -> None:
    kinds = {c.name: c.kind for c in mixed.columns}
    assert kinds == {
        "customer_id": "identifier",
        "uuid": "identifier",
        "age": "numeric",
        "income": "numeric",
        "level": "numeric",
        "member": "boolean",
        "active": "boolean",
        "signup": "datetime",
        "seen_at": "datetime",
        "us_date": "datetime",
        "colour": "categorical",
        "city": "categorical",
        "review": "text",
        "zip": "categorical",
    }


def test_integer_flags_and_formats(mixed: PreparedDataset) -> None:
    assert column(mixed, "age")["integer"] is True
    assert column(mixed, "level")["integer"] is True  # a 1..16 code stays a number
    assert column(mixed, "income")["integer"] is False
    assert column(mixed, "us_date")["datetime_format"] == "%m/%d/%Y"
    assert column(mixed, "age")["missing"] == N // 25


def test_typed_table_dtypes(mixed: PreparedDataset) -> None:
    table = pd.read_parquet(mixed.table_path)
    assert str(table["age"].dtype) == "Int64"
    assert str(table["income"].dtype) == "float64"
    assert str(table["member"].dtype) == "boolean"
    assert pd.api.types.is_datetime64_any_dtype(table["signup"])
    assert table["zip"].str.startswith("0").all()  # codes keep their leading zero


def test_statistics_per_kind(mixed: PreparedDataset) -> None:
    age = column(mixed, "age")
    assert {"min", "max", "mean", "std", "quantiles", "histogram"} <= set(age)
    assert 18 <= age["min"] <= age["quantiles"]["p50"] <= age["max"] <= 90
    assert sum(age["histogram"]["counts"]) == age["count"]
    colour = column(mixed, "colour")
    assert {t["value"] for t in colour["top"]} == {"red", "green", "blue"}
    assert colour["missing_fraction"] > 0
    signup = column(mixed, "signup")
    assert signup["min"].startswith("2023-")
    review = column(mixed, "review")
    assert "top" not in review
    assert review["length"]["min"] > 0
    assert mixed.profile["dp"] is False


def test_numbers_with_a_few_bad_values_become_missing_with_a_warning() -> None:
    values = pd.Series([str(i % 100) for i in range(300)] + ["oops"], dtype="str")
    inferred = infer_column(values, name="n", limits=Limits())
    assert inferred is not None
    assert inferred.kind == "numeric"
    assert inferred.values.isna().sum() == 1
    [warning] = inferred.warnings
    assert "data row 301" in warning.message


def test_small_tables_of_distinct_words_are_categorical() -> None:
    values = pd.Series(["a", "b", "c", "d", "e"], dtype="str")
    inferred = infer_column(values, name="x", limits=Limits())
    assert inferred is not None
    assert inferred.kind == "categorical"
