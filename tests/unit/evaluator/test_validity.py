"""column_validity(): broken values get a low score and a flag naming the column and the check."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from sds_common.tables.formats import BooleanTokens, ColumnFormat
from sds_evaluator.domain.validity import ColumnValidity, ValidityReport, column_validity
from tests.unit.evaluator.tables import COLUMNS, population

KINDS = {c.name: c.kind for c in COLUMNS}


@pytest.fixture(scope="module")
def real() -> pd.DataFrame:
    return population(1500, seed=1)


def _checks(report: ValidityReport, column: str) -> set[str]:
    return {f.check for f in report.flags if f.column == column}


def _column(report: ValidityReport, name: str) -> ColumnValidity:
    return next(c for c in report.columns if c.name == name)


def test_a_fresh_sample_of_the_population_is_valid(real: pd.DataFrame) -> None:
    report = column_validity(real, population(1500, seed=3), kinds=KINDS)
    assert report.flags == ()
    assert report.score is not None
    assert report.score > 0.99
    assert {c.name for c in report.columns} == set(KINDS)


def test_an_empty_column_scores_zero_and_is_flagged(real: pd.DataFrame) -> None:
    synth = population(1500, seed=3)
    synth["age"] = np.nan
    report = column_validity(real, synth, kinds=KINDS)
    assert report.score == 0.0
    assert _column(report, "age").score == 0.0
    assert "empty" in _checks(report, "age")
    assert report.flagged_columns == ("age",)


def test_an_empty_column_scores_zero_even_where_the_real_one_had_gaps() -> None:
    real = population(1500, seed=1, missing=True)
    synth = population(1500, seed=3, missing=True)
    synth["city"] = None
    report = column_validity(real, synth, kinds=KINDS)
    assert _column(report, "city").score == 0.0
    assert "empty" in _checks(report, "city")


def test_out_of_range_values_lower_the_headline_by_their_share(real: pd.DataFrame) -> None:
    synth = population(1500, seed=3)
    synth.loc[:299, "hours"] = synth.loc[:299, "hours"] + 1_000
    report = column_validity(real, synth, kinds=KINDS)
    hours = _column(report, "hours")
    assert hours.in_range == pytest.approx(0.8, abs=0.002)
    assert report.score == pytest.approx(hours.score)
    assert report.score is not None
    assert report.score <= 0.8
    assert "out_of_range" in _checks(report, "hours")
    assert "outside the real range" in next(f.reason for f in report.flags)


def test_dates_out_of_range(real: pd.DataFrame) -> None:
    synth = population(1500, seed=3)
    synth.loc[:99, "joined"] = pd.Timestamp("1900-01-01")
    report = column_validity(real, synth, kinds=KINDS)
    assert _checks(report, "joined") == {"out_of_range"}


def test_a_missing_category_cell_where_real_had_none_is_a_failure(real: pd.DataFrame) -> None:
    synth = population(1500, seed=3)
    synth.loc[:14, "city"] = None
    report = column_validity(real, synth, kinds=KINDS)
    city = _column(report, "city")
    assert city.missing_difference == pytest.approx(0.01)
    assert city.score == pytest.approx(0.99)
    assert _checks(report, "city") == {"missing_excess"}


def test_extra_missing_cells_within_sampling_noise_are_not_flagged() -> None:
    real = population(1500, seed=1, missing=True)
    report = column_validity(real, population(1500, seed=3, missing=True), kinds=KINDS)
    assert report.flags == ()
    noisy = population(1500, seed=3, missing=True)
    noisy.loc[:450, "age"] = np.nan
    assert "missing_excess" in _checks(column_validity(real, noisy, kinds=KINDS), "age")


def test_categories_nobody_wrote_are_flagged_but_other_bucket_is_known(
    real: pd.DataFrame,
) -> None:
    synth = population(1500, seed=3)
    synth.loc[:149, "city"] = "atlantis"
    synth.loc[150:299, "label"] = "(other)"
    report = column_validity(real, synth, kinds=KINDS)
    assert _column(report, "city").unknown_categories == pytest.approx(0.1)
    assert _column(report, "city").score == pytest.approx(0.9)
    assert _checks(report, "city") == {"unknown_categories"}
    assert _column(report, "label").unknown_categories == 0.0


def test_lost_categories_are_flagged_not_scored(real: pd.DataFrame) -> None:
    synth = population(1500, seed=3)
    synth["city"] = "north"
    report = column_validity(real, synth, kinds=KINDS)
    city = _column(report, "city")
    assert city.coverage == pytest.approx(1 / 3)
    assert city.coverage_rows is not None
    assert city.coverage_rows < 0.9
    assert _checks(report, "city") == {"categories_lost"}
    assert city.score == 1.0


def test_an_absent_column_scores_zero_but_ungenerated_ids_are_not_checked(
    real: pd.DataFrame,
) -> None:
    synth = population(1500, seed=3).drop(columns=["member", "row_id"])
    report = column_validity(real, synth, kinds=KINDS)
    assert report.score == 0.0
    assert _checks(report, "member") == {"absent"}
    ids = _column(report, "row_id")
    assert ids.score is None
    assert not ids.flagged


def test_without_a_format_the_dtype_is_compared(real: pd.DataFrame) -> None:
    real = real.astype({"age": "Int64"})
    synth = population(1500, seed=3).astype({"age": "float64"})
    synth.loc[:29, "age"] = synth.loc[:29, "age"] + 0.5
    report = column_validity(real, synth, kinds=KINDS)
    age = _column(report, "age")
    assert (age.dtype_real, age.dtype_synthetic) == ("integer", "float")
    assert _checks(report, "age") == {"dtype", "representation"}
    assert age.representation == pytest.approx(0.98)
    assert "whole numbers" in next(f.reason for f in age.flags if f.check == "representation")


def test_a_whole_valued_float_column_is_flagged_for_its_dtype_only(real: pd.DataFrame) -> None:
    real = real.astype({"age": "Int64"})
    synth = population(1500, seed=3).astype({"age": "float64"})
    age = _column(column_validity(real, synth, kinds=KINDS), "age")
    assert [f.check for f in age.flags] == ["dtype"]
    assert age.representation == 1.0


def test_decimals_and_step_grid_from_the_format(real: pd.DataFrame) -> None:
    synth = population(1500, seed=3)
    synth.loc[:14, "hours"] = synth.loc[:14, "hours"] + 0.003
    synth["age"] = (synth["age"] // 2) * 2
    synth.loc[15:29, "age"] = synth.loc[15:29, "age"] + 1.0
    formats = {
        "hours": ColumnFormat(dtype="float64", decimals=1, step=0.1),
        "age": ColumnFormat(dtype="float64", decimals=0, step=2.0),
    }
    real = real.assign(age=(real["age"] // 2) * 2)
    report = column_validity(real, synth, kinds=KINDS, formats=formats)
    hours, age = _column(report, "hours"), _column(report, "age")
    assert hours.representation == pytest.approx(0.99)
    assert "more than 1 decimals" in hours.flags[0].reason
    assert age.representation == pytest.approx(0.99)
    assert "step grid of 2" in age.flags[0].reason


def test_datetimes_on_the_granularity_and_booleans_still_booleans(real: pd.DataFrame) -> None:
    synth = population(1500, seed=3)
    synth.loc[:29, "joined"] = synth.loc[:29, "joined"] + pd.Timedelta(hours=13, minutes=47)
    synth["member"] = synth["member"].map({True: "yes", False: "no"})
    formats = {
        "joined": ColumnFormat(dtype="datetime64[us]", granularity_s=86_400.0),
        "member": ColumnFormat(dtype="boolean", boolean=BooleanTokens(true="yes", false="no")),
    }
    report = column_validity(real, synth, kinds=KINDS, formats=formats)
    joined, member = _column(report, "joined"), _column(report, "member")
    assert joined.representation == pytest.approx(0.98)
    assert "whole-day granularity" in joined.flags[0].reason
    assert member.representation == 0.0
    assert member.score == 0.0
    assert _checks(report, "member") == {"dtype", "representation"}


def test_a_timezone_lost_is_a_dtype_change(real: pd.DataFrame) -> None:
    real = real.assign(joined=real["joined"].dt.tz_localize("Europe/Paris"))
    report = column_validity(real, population(1500, seed=3), kinds=KINDS)
    assert _checks(report, "joined") == {"dtype"}
    assert _column(report, "joined").dtype_real == "datetime[Europe/Paris]"


def test_identifiers_unique_and_shaped_like_the_real_ones() -> None:
    real = pd.DataFrame({"id": [f"C-{i:05d}" for i in range(1000)]})
    good = pd.DataFrame({"id": [f"C-{i:05d}" for i in range(5000, 6000)]})
    assert column_validity(real, good, kinds={"id": "identifier"}).flags == ()
    bad = good.copy()
    bad.loc[:9, "id"] = "C-05010"
    bad.loc[10:19, "id"] = [f"X{i}" for i in range(10)]
    report = column_validity(real, bad, kinds={"id": "identifier"})
    ids = _column(report, "id")
    assert _checks(report, "id") == {"not_unique", "id_shape"}
    assert ids.unique is not None
    assert ids.unique < 1.0
    assert ids.id_shape == pytest.approx(0.99)
    assert report.score == pytest.approx(min(ids.unique, 0.99))


def test_report_is_json_ready(real: pd.DataFrame) -> None:
    synth = population(1500, seed=3)
    synth["age"] = np.nan
    data = json.loads(json.dumps(column_validity(real, synth, kinds=KINDS).to_dict()))
    assert data["score"] == 0.0
    assert data["flagged_columns"] == ["age"]
    age = next(c for c in data["columns"] if c["name"] == "age")
    assert age["flags"][0]["check"] == "empty"
