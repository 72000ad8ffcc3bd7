"""The schema review's proposal: round public-looking bounds, complete category lists, warnings.

The proposal is computed from the raw rows; what it must never do is carry a value of the data
that the owner is not shown as such: an exact extreme hidden in a "rounded" bound, or the values of
a column that may hold personal data.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from sds_common.tables.public_metadata import (
    MAX_PROPOSED_CATEGORIES,
    RARE_ROWS,
    SchemaProposal,
)
from sds_datasets.domain.proposal import MAX_STEPS, propose, round_outward, write_proposal
from tests.unit.datasets.conftest import Prepare


@pytest.mark.parametrize(
    ("low", "high", "integer", "expected"),
    [
        (17, 90, True, (0, 100)),  # ages
        (1_234, 987_654, True, (0, 1_000_000)),
        (1, 16, True, (0, 20)),  # education-num: still one code per integer downstream
        (0.0123, 0.0456, False, (0.01, 0.05)),
        (-3.2, 45.0, False, (-20, 60)),
        (7, 7, True, (0, 10)),  # one value: the unit at or above its magnitude
        (10, 10, True, (10, 20)),
        (1990, 2020, True, (1990, 2020)),  # round extremes stay as they are
    ],
)
def test_bounds_are_rounded_outwards_to_round_values(
    low: float, high: float, integer: bool, expected: tuple[float, float]
) -> None:
    assert round_outward(low, high, integer=integer) == pytest.approx(expected)


def test_rounded_bounds_hold_the_range_on_a_coarse_1_2_5_grid() -> None:
    rng = np.random.default_rng(3)
    for _ in range(2_000):
        scale = 10.0 ** rng.integers(-4, 9)
        low, high = sorted(rng.normal(0, scale, size=2).tolist())
        integer = bool(rng.integers(2))
        if integer:
            low, high = float(np.floor(low)), float(np.ceil(high))
        out_low, out_high = round_outward(low, high, integer=integer)
        assert out_low <= low <= high <= out_high
        assert out_low < out_high
        # Both bounds are multiples of one unit of the ladder, at most MAX_STEPS units apart.
        span = Decimal(repr(out_high)) - Decimal(repr(out_low))
        units = [Decimal(step).scaleb(power) for power in range(-8, 12) for step in (1, 2, 5)]
        assert any(
            (Decimal(repr(out_low)) / unit) % 1 == 0
            and (Decimal(repr(out_high)) / unit) % 1 == 0
            and span / unit <= MAX_STEPS
            for unit in units
        ), (low, high, out_low, out_high)


def _facts(prepare: Prepare, content: str, *, target: str | None = None) -> SchemaProposal:
    prepared = prepare(content, target=target)
    frame = pd.read_parquet(prepared.table_path)
    return propose(frame, columns=prepared.columns, target_column=target)


def _table() -> str:
    rng = np.random.default_rng(0)
    n = 400
    rows = ["age,income,city,email,visit,label,note"]
    cities = ["Lyon"] * 200 + ["Paris"] * 190 + ["Nice"] * 7 + ["Sète"] * 3
    rows += [
        ",".join(
            [
                str(int(rng.integers(18, 87))),
                f"{rng.gamma(2, 20_000):.2f}",
                cities[i],
                f"person{i}@example.org",
                f"2019-{1 + i % 12:02d}-{1 + i % 28:02d}" if i else "2021-06-30",
                "yes" if i % 3 else "no",
                "a long free text note number " + str(i) + " with several words in it",
            ]
        )
        for i in range(n)
    ]
    return "\n".join(rows) + "\n"


def test_the_proposal_of_a_table(prepare: Prepare) -> None:
    proposal = _facts(prepare, _table(), target="label")
    by_name = {column.name: column for column in proposal.columns}
    assert proposal.n_rows == 400
    assert by_name["age"].kind == "numeric"
    assert by_name["age"].bounds == (0.0, 100.0)
    assert by_name["visit"].bounds == (
        datetime(2019, 1, 1, tzinfo=UTC),
        datetime(2022, 1, 1, tzinfo=UTC),
    )
    city = by_name["city"]
    assert city.categories == ("Lyon", "Nice", "Paris", "Sète")  # complete, sorted
    assert [(r.value, r.rows) for r in city.rare] == [("Nice", 7), ("Sète", 3)]
    assert all(r.rows <= RARE_ROWS for r in city.rare)
    assert by_name["email"].categories is None
    assert by_name["email"].bounds is None
    assert "personal data" in (by_name["email"].note or "")
    assert by_name["note"].kind == "text"
    assert by_name["note"].categories is None
    # The target: marked, its classes proposed, the opt-out named.
    assert by_name["label"].target is True
    assert proposal.target_column == "label"
    assert "target_classes_public" in (proposal.target_classes or "")
    assert proposal.rare_rows == RARE_ROWS
    assert str(RARE_ROWS) in proposal.rare_reason


def test_no_value_of_the_data_is_in_the_proposal_unless_shown_as_such(
    prepare: Prepare,
) -> None:
    """Exact extremes and withheld columns' values appear nowhere in the stored JSON."""
    content = _table()
    proposal = _facts(prepare, content, target="label")
    text = proposal.model_dump_json()
    frame = pd.read_csv(pd.io.common.StringIO(content))
    for value in frame["email"]:
        assert value not in text
    for value in frame["note"]:
        assert value not in text
    income = json.loads(text)["columns"][1]
    assert income["name"] == "income"
    low, high = income["bounds"]
    assert low <= frame["income"].min()
    assert high >= frame["income"].max()
    assert frame["income"].min() not in (low, high)
    assert frame["income"].max() not in (low, high)
    # Every category value in the JSON is in the column's shown list.
    shown = {c.name: set(c.categories or ()) for c in proposal.columns}
    for column in proposal.columns:
        assert {r.value for r in column.rare} <= shown[column.name]


def test_a_high_cardinality_column_gets_no_category_list(prepare: Prepare) -> None:
    n = 3_000
    values = [f"code{i % (MAX_PROPOSED_CATEGORIES + 20)}" for i in range(n)]
    content = "code,x\n" + "".join(f"{v},{i % 7}\n" for i, v in enumerate(values))
    proposal = _facts(prepare, content)
    code = proposal.column("code")
    assert code is not None
    assert code.kind == "categorical"
    assert code.categories is None
    assert "120 distinct values" in (code.note or "")
    assert "code5" not in proposal.model_dump_json()


def test_written_beside_the_profile(prepare: Prepare) -> None:
    prepared = prepare(_table(), target="label")
    path = prepared.profile_path.with_name("schema-proposal.json")
    written = write_proposal(prepared, target_column="label", path=path)
    assert SchemaProposal.model_validate_json(path.read_text()) == written
