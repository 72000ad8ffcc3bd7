"""The peers benchmark's pure parts: method selection, dtype alignment, targets, the protocol."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest

from benchmarks._peers.catalogue import Run, catalogue, params_for, select
from benchmarks._peers.judge_worker import metadata
from benchmarks._peers.notes import render
from benchmarks._peers.protocol import Result, Spec, load_table, read_spec, write_spec
from benchmarks._peers.report import Outcome, Setup, align, table, targets
from benchmarks._peers.smartnoise_worker import IIDSampling
from benchmarks._peers.venvs import one_line
from benchmarks.peers import PUBLIC_METADATA, public_metadata
from benchmarks.synthesis import ADULT
from sds_trainer.domain.synthesizers import column_specs


class _Private:
    differentially_private: ClassVar[bool] = True


class _Plain:
    differentially_private: ClassVar[bool] = False


REGISTRY: dict[str, Any] = {"dp-ctgan": _Private, "ctgan": _Plain, "aim": _Private}
METHODS = catalogue(REGISTRY)


def _keys(runs: list[Run]) -> list[tuple[str, float | None]]:
    return [(r.method.key, r.epsilon) for r in runs]


def test_catalogue_takes_only_the_dp_synthesizers_of_the_registry() -> None:
    ours = [k for k, m in METHODS.items() if m.ours]
    assert ours == ["dp-ctgan", "aim", "aim-no-metadata"]
    # Ours get the declared public metadata; aim also runs once without it, as the same model.
    assert [METHODS[k].declared for k in ours] == [True, True, False]
    assert METHODS["aim-no-metadata"].name == "aim"
    # The peers get the same declarations as ours (a fair run, issue #17).
    assert all(m.declared for m in METHODS.values() if not m.ours)
    # The registry's non-DP "ctgan" wrapper is not ours; the key is the ctgan package peer.
    assert METHODS["ctgan"].venv == "ctgan"
    assert not METHODS["ctgan"].private


def test_select_runs_dp_methods_per_epsilon_and_the_rest_once() -> None:
    runs = select("ours,ctgan,smartnoise-mst", methods=METHODS, epsilons=[1.0, 3.0])
    # The first ε (with the non-DP peer) before the others; ours before the peers within each.
    assert _keys(runs) == [
        ("dp-ctgan", 1.0),
        ("aim", 1.0),
        ("aim-no-metadata", 1.0),
        ("smartnoise-mst", 1.0),
        ("ctgan", None),
        ("dp-ctgan", 3.0),
        ("aim", 3.0),
        ("aim-no-metadata", 3.0),
        ("smartnoise-mst", 3.0),
    ]


def test_select_groups_and_unknown_names() -> None:
    smartnoise = select("smartnoise", methods=METHODS, epsilons=[1.0])
    assert {r.method.key for r in smartnoise} == {
        "smartnoise-mst",
        "smartnoise-aim",
        "smartnoise-dpctgan",
    }
    assert len(select("all", methods=METHODS, epsilons=[1.0])) == len(METHODS)
    with pytest.raises(SystemExit, match=r"unknown method 'nope'.*smartnoise-aim"):
        select("nope", methods=METHODS, epsilons=[1.0])


def test_params_give_the_package_the_dp_ctgan_defaults_and_shrink_when_quick() -> None:
    def params(key: str, eps: float | None, *, quick: bool = False) -> dict[str, Any]:
        return params_for(Run(METHODS[key], eps), quick=quick, epochs=30, batch_size=500)

    assert params("ctgan", None) == params("dp-ctgan", 1.0) == {"epochs": 30, "batch_size": 500}
    assert params("ctgan", None, quick=True)["epochs"] == 1
    assert params("smartnoise-aim", 1.0) == {}
    assert params("aim", 1.0, quick=True) == {}
    # smartnoise DP-CTGAN: its defaults at ε=1, the same training length elsewhere.
    assert params("smartnoise-dpctgan", 1.0) == {"batch_size": 500}
    assert params("smartnoise-dpctgan", 3.0) == {"batch_size": 500, "calibrate_to_epsilon": 1.0}


def test_align_restores_the_real_dtypes_from_a_csv_round_trip() -> None:
    real = pd.DataFrame(
        {
            "age": pd.array([30, 41], dtype="Int64"),
            "score": [0.5, 1.5],
            "job": pd.array(["a", None], dtype="string"),
        }
    )
    synthetic = pd.DataFrame(
        {"job": ["b", np.nan], "age": ["29.6", "x"], "score": ["2.25", "3"], "extra": [1, 2]}
    )
    out = align(synthetic, real)
    assert list(out.columns) == ["age", "score", "job"]
    assert out.dtypes.tolist() == real.dtypes.tolist()
    assert out["age"].iloc[0] == 30
    assert out["age"].isna().iloc[1]
    assert out["score"].tolist() == [2.25, 3.0]
    assert out["job"].iloc[0] == "b"
    assert out["job"].isna().iloc[1]
    with pytest.raises(ValueError, match="lacks columns \\['score'\\]"):
        align(synthetic.drop(columns="score"), real)


def test_one_line_prefers_the_error_and_truncates() -> None:
    log = "Resolved 3 packages\nerror: No solution found\n  hint: try something\n"
    assert one_line(log) == "error: No solution found"
    assert one_line("warming up\nplain last line\n") == "plain last line"
    assert one_line("") == "no error output"
    assert len(one_line("error " + "x" * 500, limit=50)) == 50


def _outcome(key: str, eps: float | None, *, fit: float, quality: float, tstr: float) -> Outcome:
    return Outcome(
        Run(METHODS[key], eps),
        result=Result(fit_s=fit, sample_s=1.0, rows=10),
        scores={"utility_tstr_auc": tstr, "fidelity": 0.9},
        quality=quality,
    )


def test_targets_compare_with_the_peers_of_the_same_run() -> None:
    outcomes = [
        _outcome("aim", 1.0, fit=100.0, quality=0.981, tstr=0.91),
        _outcome("dp-ctgan", 1.0, fit=100.0, quality=0.70, tstr=0.80),
        _outcome("smartnoise-aim", 1.0, fit=500.0, quality=0.979, tstr=0.888),
        _outcome("smartnoise-dpctgan", 1.0, fit=600.0, quality=0.46, tstr=0.53),
    ]
    best, dpctgan = targets(outcomes)
    assert "(aim)" in best
    assert "0.20x" in best
    assert best.endswith("**met**")
    assert "0.17x" in dpctgan
    assert dpctgan.endswith("**missed**")  # fast enough, but SDMetrics 0.70 < 0.85
    slow = [_outcome("aim", 1.0, fit=200.0, quality=0.99, tstr=0.95), *outcomes[1:]]
    assert targets(slow)[0].endswith("**missed**")  # 0.40x AIM's fit
    fast = [_outcome("aim", 1.0, fit=5.0, quality=0.99, tstr=0.95), *outcomes[1:]]
    assert "= 0.01x smartnoise AIM's" in targets(fast)[0]  # two significant digits, not 0.00x


def test_targets_say_when_the_reference_peer_did_not_run() -> None:
    failed = Outcome(Run(METHODS["smartnoise-aim"], 1.0), failure="failed: boom")
    ours = _outcome("aim", 1.0, fit=10.0, quality=0.99, tstr=0.95)
    (line,) = targets([ours, failed])
    assert line.endswith("**not measurable**")
    assert targets([failed]) == []


def test_table_has_one_line_per_run_with_dashes_for_failures() -> None:
    outcomes = [
        _outcome("dp-ctgan", 1.0, fit=12.34, quality=0.8, tstr=0.75),
        Outcome(Run(METHODS["mostlyai"], 1.0), failure="not installed: no wheel"),
    ]
    lines = table(outcomes).splitlines()
    assert len(lines) == 4
    assert lines[2].startswith("| ours: dp-ctgan | 1 | — | 12.3 | 0.800 | 0.900 | 0.750 |")
    assert lines[2].endswith("| ok |")
    assert lines[3].count("| — ") == 8
    assert lines[3].endswith("| not installed: no wheel |")


def test_spec_round_trip_and_typed_loading(tmp_path: Path) -> None:
    columns = [{"name": "n", "kind": "numeric"}, {"name": "c", "kind": "categorical"}]
    (tmp_path / "t.csv").write_text("n,c\n1,x\n,\n2.5,y\n")
    spec = Spec(
        method="mst",
        epsilon=1.0,
        delta=1e-7,
        train_path=str(tmp_path / "t.csv"),
        columns=columns,
        out_dir=str(tmp_path),
        sample_rows=3,
        params={"rounds": 2},
    )
    write_spec(spec, tmp_path / "spec.json")
    assert read_spec(tmp_path / "spec.json") == spec
    assert spec.numeric == ["n"]
    assert spec.categorical == ["c"]
    frame = load_table(spec.train_path, columns)
    assert frame["n"].dtype == "float64"
    assert math.isnan(frame["n"].iloc[1])
    assert frame["c"].tolist() == ["x", None, "y"]


def test_judge_metadata_maps_our_kinds_to_sdtypes() -> None:
    columns = [
        {"name": "a", "kind": "numeric"},
        {"name": "b", "kind": "categorical"},
        {"name": "c", "kind": "boolean"},
    ]
    assert metadata(columns) == {
        "columns": {
            "a": {"sdtype": "numerical"},
            "b": {"sdtype": "categorical"},
            "c": {"sdtype": "boolean"},
        }
    }


def test_iid_sampling_asks_mbi_for_sampling_not_rounding() -> None:
    calls: list[dict[str, Any]] = []

    class FakeModel:
        total = 7

        def synthetic_data(self, rows: int | None = None, method: str = "round") -> str:
            calls.append({"rows": rows, "method": method})
            return "data"

    wrapped = IIDSampling(FakeModel())
    assert wrapped.synthetic_data(rows=5) == "data"
    assert calls == [{"rows": 5, "method": "sample"}]
    assert wrapped.total == 7


def test_render_marks_a_run_in_progress_and_lists_each_runs_settings(tmp_path: Path) -> None:
    # The datasets pipeline's Prepared, without importing the heavy benchmarks.synthesis.
    prepared: Any = SimpleNamespace(
        train_path=tmp_path / "train.parquet",
        holdout_path=tmp_path / "holdout.parquet",
        columns=[{"name": "a", "kind": "numeric", "missing_fraction": 0.0}],
        train_rows=800,
        holdout_rows=200,
    )
    setup = Setup(
        prepared=prepared,
        train_csv=tmp_path / "train.csv",
        delta=1e-4,
        workdir=tmp_path,
        threads=1,
        quick=False,
        timeout_s=60.0,
        epochs=30,
        batch_size=500,
    )
    noted = [
        Outcome(
            Run(METHODS["smartnoise-dpctgan"], eps),
            result=Result(fit_s=1.0, sample_s=1.0, rows=800, notes=[f"noise multiplier {sigma}"]),
        )
        for eps, sigma in ((1.0, 5), (3.0, 1.97))
    ]
    text = render(noted, setup=setup, built={}, loads=("1.0 / 1.0 / 1.0", "2.0 / 2.0 / 2.0"))
    assert "in progress" not in text
    assert "smartnoise DP-CTGAN at ε=1: noise multiplier 5" in text
    assert "smartnoise DP-CTGAN at ε=3: noise multiplier 1.97" in text
    assert "800 training rows, 200 holdout rows" in text
    pending = render(noted[:1], setup=setup, built={}, loads=("1", "1"), pending=3)
    assert "**in progress: 3 more run(s) to go**" in pending


def test_declared_metadata_goes_to_ours_and_the_peers_only_for_the_runs_columns() -> None:
    columns = [{"name": "age"}, {"name": "education"}]
    declared = public_metadata(METHODS["aim"], columns)
    assert set(declared) == {"age", "education"}
    assert declared["age"] == {"bounds": [17, 90]}
    assert len(declared["education"]["categories"]) == 16
    assert public_metadata(METHODS["aim-no-metadata"], columns) == {}
    assert public_metadata(METHODS["smartnoise-aim"], columns) == declared


def test_declared_adult_metadata_holds_every_value_of_the_table() -> None:
    """What is declared must hold the data: a value outside it would be clipped or lost."""
    frame = pd.read_csv(ADULT, dtype=str, keep_default_na=False)
    declared = json.loads(PUBLIC_METADATA.read_text())
    assert set(declared) <= set(frame.columns)
    assert "fnlwgt" not in declared  # no public range: found under DP
    for name, meta in declared.items():
        present = frame[name][frame[name] != ""]
        if "categories" in meta:
            assert set(present) <= set(meta["categories"]), name
        else:
            low, high = meta["bounds"]
            values = present.astype(float)
            assert values.min() >= low, name
            assert values.max() <= high, name


def test_column_specs_carry_declared_bounds_and_categories() -> None:
    frame = pd.DataFrame({"age": [20, 30], "sex": ["F", "M"], "w": [1.5, 2.5]})
    columns = [
        {"name": "age", "kind": "numeric", "missing_fraction": 0.0},
        {"name": "sex", "kind": "categorical", "missing_fraction": 0.1},
        {"name": "w", "kind": "numeric", "missing_fraction": 0.0},
    ]
    specs = column_specs(
        columns, frame, {"age": {"bounds": [17, 90]}, "sex": {"categories": ["F", "M", "X"]}}
    )
    by_name = {s.name: s for s in specs}
    assert by_name["age"].bounds == (17.0, 90.0)
    assert by_name["age"].integer
    assert by_name["sex"].categories == ("F", "M", "X")
    assert by_name["sex"].nullable
    assert by_name["w"].bounds is None
    assert not by_name["w"].integer
    assert all(s.bounds is None and s.categories is None for s in column_specs(columns, frame))
