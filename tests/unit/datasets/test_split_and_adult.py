"""The holdout split, and the bundled UCI Adult sample end to end."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID, uuid4

import numpy as np
import pandas as pd  # type: ignore[import-untyped, unused-ignore]
import pytest

from sds_datasets.domain.limits import Limits
from sds_datasets.domain.pipeline import PreparedDataset
from sds_datasets.domain.split import holdout_split
from tests.unit.datasets.conftest import Prepare, column

ADULT = Path(__file__).resolve().parents[3] / "data" / "adult" / "adult.csv"
DATASET = UUID("3f2b9c1e-8a47-4d2b-9a51-0c6e7f1d2a90")


def _frame(n: int = 1_000) -> pd.DataFrame:
    return pd.DataFrame(
        {"x": range(n), "y": ["rare" if i % 50 == 0 else "common" for i in range(n)]}
    )


def test_split_is_deterministic_per_dataset() -> None:
    frame = _frame()
    first = holdout_split(frame, dataset_id=DATASET, fraction=0.2)
    again = holdout_split(frame, dataset_id=DATASET, fraction=0.2)
    other = holdout_split(frame, dataset_id=uuid4(), fraction=0.2)
    assert np.array_equal(first.holdout, again.holdout)
    assert not np.array_equal(first.holdout, other.holdout)


@pytest.mark.parametrize("fraction", [0.2, 0.1, 0.35])
def test_split_proportion_and_partition(fraction: float) -> None:
    split = holdout_split(_frame(), dataset_id=DATASET, fraction=fraction)
    assert len(split.holdout) == round(1_000 * fraction)
    assert len(np.intersect1d(split.train, split.holdout)) == 0
    assert len(split.train) + len(split.holdout) == 1_000
    assert np.all(np.diff(split.holdout) > 0)  # original order kept


def test_stratified_split_keeps_class_shares() -> None:
    frame = _frame()
    split = holdout_split(frame, dataset_id=DATASET, fraction=0.2, stratify_by="y")
    held = frame.iloc[split.holdout]["y"].value_counts()
    assert held["rare"] == 4  # 20 rare rows, 20% held out
    assert held["common"] == 196


def test_split_files_follow_the_split(prepare: Prepare) -> None:
    rows = "".join(f"{i},{'a' if i % 4 else 'b'}\n" for i in range(100))
    prepared = prepare("n,label\n" + rows, target="label", dataset_id=DATASET)
    train = pd.read_parquet(prepared.train_path)
    holdout = pd.read_parquet(prepared.holdout_path)
    assert len(holdout) == prepared.holdout_rows == 20
    assert len(train) == 80
    assert set(train["n"]).isdisjoint(holdout["n"])
    assert (holdout["label"] == "b").sum() == 5
    assert prepared.profile["holdout"]["stratified_by"] == "label"


def test_holdout_fraction_is_configurable(prepare: Prepare) -> None:
    rows = "".join(f"{i},{i % 3}\n" for i in range(100))
    prepared = prepare("n,m\n" + rows, limits=Limits(holdout_fraction=0.3))
    assert prepared.holdout_rows == 30
    assert prepared.profile["holdout"]["stratified_by"] is None


def test_same_upload_gives_identical_files(prepare: Prepare) -> None:
    content = "n,label\n" + "".join(f"{i},{'ab'[i % 2]}\n" for i in range(50))
    first = prepare(content, target="label", dataset_id=DATASET)
    second = prepare(content, target="label", dataset_id=DATASET)
    for a, b in [
        (first.table_path, second.table_path),
        (first.train_path, second.train_path),
        (first.holdout_path, second.holdout_path),
        (first.profile_path, second.profile_path),
    ]:
        assert a.read_bytes() == b.read_bytes()


@pytest.fixture(scope="module")
def adult(tmp_path_factory: pytest.TempPathFactory) -> PreparedDataset:
    from sds_datasets.domain.pipeline import prepare_dataset  # noqa: PLC0415

    workdir = tmp_path_factory.mktemp("adult")
    return prepare_dataset(
        source=ADULT,
        workdir=workdir,
        table_format="csv",
        dataset_id=DATASET,
        target_column="income",
        limits=Limits(),
        expected_sha256="5b3e65fa7fc31d6464d4620973ea1045c8541d3db2d802630c1b25c8fcf65a5e",
    )


def test_adult_shape(adult: PreparedDataset) -> None:
    assert adult.n_rows == 32_561
    assert len(adult.columns) == 15
    assert adult.profile["warnings"] == []


def test_adult_kinds(adult: PreparedDataset) -> None:
    kinds = {c.name: c.kind for c in adult.columns}
    numeric = {
        "age",
        "fnlwgt",
        "education-num",
        "capital-gain",
        "capital-loss",
        "hours-per-week",
    }
    assert {name for name, kind in kinds.items() if kind == "numeric"} == numeric
    assert {name for name, kind in kinds.items() if kind != "numeric"} == set(kinds) - numeric
    assert all(kinds[name] == "categorical" for name in set(kinds) - numeric)
    assert column(adult, "age")["integer"] is True
    assert column(adult, "education-num")["integer"] is True
    assert all(not c.pii for c in adult.columns)


def test_adult_target_and_missing_values(adult: PreparedDataset) -> None:
    income = column(adult, "income")
    assert income["kind"] == "categorical"
    assert income["distinct"] == 2
    assert {t["value"] for t in income["top"]} == {"<=50K", ">50K"}
    missing = {c.name for c in adult.columns if c.missing_fraction > 0}
    assert missing == {"workclass", "occupation", "native-country"}
    assert column(adult, "workclass")["missing"] == 1_836
    assert column(adult, "occupation")["missing"] == 1_843
    assert column(adult, "native-country")["missing"] == 583


def test_adult_split_is_stratified_by_income(adult: PreparedDataset) -> None:
    assert adult.holdout_rows == round(0.2 * 24_720) + round(0.2 * 7_841)
    holdout = pd.read_parquet(adult.holdout_path)
    share = (holdout["income"] == ">50K").mean()
    assert abs(share - 7_841 / 32_561) < 0.001
