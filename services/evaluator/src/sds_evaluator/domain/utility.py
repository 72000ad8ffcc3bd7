"""ML utility: does a model trained on synthetic rows predict real, unseen rows?

TSTR (train on synthetic, test on real holdout) is compared with TRTR (train on the real training
rows, test on the same holdout). Both use histogram gradient boosting: fast, deterministic with a
seed, and it accepts missing values and ordinal-coded categories without extra preprocessing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd  # type: ignore[import-untyped, unused-ignore]
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    mean_absolute_error,
    r2_score,
    roc_auc_score,
)

from sds_evaluator.domain.columns import (
    MISSING,
    FloatArray,
    LabelArray,
    detect_target,
    is_numeric_kind,
    sample_rows,
    to_labels,
    to_numbers,
)
from sds_evaluator.domain.models import (
    ColumnInfo,
    EvaluationConfig,
    Metric,
    ModelScores,
    TaskKind,
    UtilitySection,
)

# HistGradientBoosting accepts at most 255 bins, one of them for missing values.
_MAX_CATEGORY_CODES = 254
_MIN_TRAIN_ROWS = 10


@dataclass(frozen=True)
class _Task:
    target: str
    kind: TaskKind
    classes: list[str]
    positive: str | None


def _features(
    frame: pd.DataFrame, features: Sequence[ColumnInfo], vocab: dict[str, dict[str, int]]
) -> FloatArray:
    out = np.empty((len(frame), len(features)), dtype=np.float64)
    for j, info in enumerate(features):
        if is_numeric_kind(info.kind):
            out[:, j] = to_numbers(frame[info.name], info.kind)
        else:
            codes = vocab[info.name]
            labels = to_labels(frame[info.name], info.kind)
            out[:, j] = [codes.get(s, np.nan) for s in labels]
    return out


def _vocabulary(frame: pd.DataFrame, features: Sequence[ColumnInfo]) -> dict[str, dict[str, int]]:
    """Codes of the most frequent categories of the fitting table; others read as missing."""
    vocab: dict[str, dict[str, int]] = {}
    for info in features:
        if is_numeric_kind(info.kind):
            continue
        counts = pd.Series(to_labels(frame[info.name], info.kind)).value_counts()
        top = [c for c in counts.index if c != MISSING][:_MAX_CATEGORY_CODES]
        vocab[info.name] = {str(c): i for i, c in enumerate(top)}
    return vocab


def _targets(frame: pd.DataFrame, info: ColumnInfo, task: TaskKind) -> FloatArray | LabelArray:
    if task == "regression":
        return to_numbers(frame[info.name], info.kind)
    if is_numeric_kind(info.kind):
        # A two-valued numeric target (0/1 flags) is a classification target in disguise.
        values = to_numbers(frame[info.name], info.kind)
        return np.array([MISSING if np.isnan(v) else f"{v:g}" for v in values], dtype=object)
    return to_labels(frame[info.name], info.kind)


def _resolve_task(info: ColumnInfo, real: pd.DataFrame) -> _Task | str:
    if is_numeric_kind(info.kind):
        values = to_numbers(real[info.name], info.kind)
        distinct = np.unique(values[~np.isnan(values)])
        if distinct.size > 2:
            return _Task(target=info.name, kind="regression", classes=[], positive=None)
        if distinct.size < 2:
            return f"target '{info.name}' has fewer than two distinct values"
    labels = pd.Series(_targets(real, info, "binary"))
    counts = labels[labels != MISSING].value_counts()
    if len(counts) < 2:
        return f"target '{info.name}' has fewer than two classes in the real data"
    classes = sorted(str(c) for c in counts.index)
    if len(counts) == 2:
        # The minority class is what people usually want to find (fraud, disease, high income).
        positive = str(min(counts.index, key=lambda c: (counts[c], str(c))))
        return _Task(target=info.name, kind="binary", classes=classes, positive=positive)
    return _Task(target=info.name, kind="multiclass", classes=classes, positive=None)


def _model(task: _Task, seed: int) -> Any:
    if task.kind == "regression":
        return HistGradientBoostingRegressor(max_iter=100, early_stopping=False, random_state=seed)
    # Multiclass boosting grows one tree per class per round; fewer rounds keep it affordable.
    rounds = 100 if task.kind == "binary" else max(20, 200 // len(task.classes))
    return HistGradientBoostingClassifier(
        max_iter=rounds, early_stopping=False, random_state=seed, categorical_features="from_dtype"
    )


def _fit_predict(
    *,
    task: _Task,
    train: pd.DataFrame,
    test: pd.DataFrame,
    features: Sequence[ColumnInfo],
    target: ColumnInfo,
    seed: int,
) -> dict[str, float]:
    vocab = _vocabulary(train, features)
    x_train, x_test = _features(train, features, vocab), _features(test, features, vocab)
    y_train, y_test = _targets(train, target, task.kind), _targets(test, target, task.kind)
    categorical = [not is_numeric_kind(f.kind) for f in features]
    if task.kind == "regression":
        y_tr, y_te = np.asarray(y_train, dtype=np.float64), np.asarray(y_test, dtype=np.float64)
        model = _model(task, seed).set_params(categorical_features=categorical or None)
        if x_train.shape[1] == 0 or len(y_tr) < _MIN_TRAIN_ROWS:
            pred = np.full(len(y_te), float(np.mean(y_tr)) if len(y_tr) else 0.0)
        else:
            pred = model.fit(x_train, y_tr).predict(x_test)
        return {"r2": float(r2_score(y_te, pred)), "mae": float(mean_absolute_error(y_te, pred))}
    y_tr = np.asarray(y_train, dtype=str)
    y_te = np.asarray(y_test, dtype=str)
    proba = np.zeros((len(y_te), len(task.classes)))
    seen = np.unique(y_tr)
    if seen.size < 2 or x_train.shape[1] == 0 or len(y_tr) < _MIN_TRAIN_ROWS:
        # Nothing to learn from: predict the most common training class with certainty.
        majority = pd.Series(y_tr).mode().iloc[0] if len(y_tr) else task.classes[0]
        pred = np.full(len(y_te), majority, dtype=object)
        if majority in task.classes:
            proba[:, task.classes.index(majority)] = 1.0
    else:
        model = _model(task, seed).set_params(categorical_features=categorical or None)
        model.fit(x_train, y_tr)
        pred = model.predict(x_test)
        model_proba = model.predict_proba(x_test)
        for k, cls in enumerate(model.classes_):
            if str(cls) in task.classes:
                proba[:, task.classes.index(str(cls))] = model_proba[:, k]
    scores = {
        "accuracy": float(accuracy_score(y_te, pred)),
        "f1_macro": float(f1_score(y_te, pred, average="macro", zero_division=0)),
    }
    auc = _roc_auc(task, y_te, proba)
    if auc is not None:
        scores["roc_auc"] = auc
    return scores


def _roc_auc(task: _Task, y_true: npt.NDArray[Any], proba: FloatArray) -> float | None:
    """Binary: AUC of the positive (minority) class; multiclass: macro one-vs-rest AUC."""
    targets = [task.positive] if task.kind == "binary" else task.classes
    aucs = []
    for cls in targets:
        assert cls is not None
        hits = y_true == cls
        if hits.all() or not hits.any():
            continue
        aucs.append(float(roc_auc_score(hits, proba[:, task.classes.index(cls)])))
    return float(np.mean(aucs)) if aucs else None


def _clean(frame: pd.DataFrame, target: ColumnInfo, kind: TaskKind) -> pd.DataFrame:
    y = _targets(frame, target, kind)
    missing = np.isnan(y.astype(np.float64)) if kind == "regression" else y == MISSING
    return frame.loc[~np.asarray(missing, dtype=bool)].reset_index(drop=True)


def _pick_target(
    columns: Sequence[ColumnInfo], target: str | None, real: pd.DataFrame
) -> tuple[ColumnInfo | None, str | None, str]:
    if target is not None:
        match = [c for c in columns if c.name == target]
        if not match:
            return None, None, f"target '{target}' is not a usable column of all three tables"
        return match[0], "given", ""
    auto = detect_target(columns, real)
    if auto is None:
        return None, None, "no target was given and no categorical column with 2-20 classes exists"
    return next(c for c in columns if c.name == auto), "auto", ""


def utility_section(
    *,
    real_train: pd.DataFrame,
    real_holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    columns: Sequence[ColumnInfo],
    target: str | None,
    config: EvaluationConfig,
    seed: int,
) -> UtilitySection:
    """Train on synthetic and on real rows, test both on the real holdout, compare.

    Args:
        real_train: rows the generator learnt from.
        real_holdout: rows no model saw; the test set of both models.
        synthetic: generated rows.
        columns: usable columns (features are all of them but the target).
        target: the column to predict, or None to detect one.
        config: row caps.
        seed: seeds subsampling and the models.

    Returns:
        The section; ``status`` is "skipped" (with a note) when no target can be scored.
    """
    info, source, why = _pick_target(columns, target, real_train)
    if info is None:
        return UtilitySection(status="skipped", notes=[why])
    task = _resolve_task(info, real_train)
    if isinstance(task, str):
        return UtilitySection(status="skipped", target=info.name, notes=[task])
    test = _clean(real_holdout, info, task.kind)
    if len(test) == 0:
        return UtilitySection(status="skipped", target=info.name, notes=["no holdout rows"])
    cap = config.max_utility_rows
    test = sample_rows(test, limit=cap, seed=seed)
    features = [c for c in columns if c.name != info.name]
    results: dict[str, ModelScores] = {}
    for name, frame in (("synthetic", synthetic), ("real", real_train)):
        train = sample_rows(_clean(frame, info, task.kind), limit=cap, seed=seed)
        scores = _fit_predict(
            task=task, train=train, test=test, features=features, target=info, seed=seed
        )
        results[name] = ModelScores.model_validate(
            {"train_on": name, "train_rows": len(train), "test_rows": len(test), "scores": scores}
        )
    notes = [] if source == "given" else [f"No target was given; '{info.name}' was detected."]
    if len(real_train) > cap or len(synthetic) > cap:
        notes.append(f"Models were trained on at most {cap:,} rows (seeded sample).")
    return UtilitySection(
        status="ok",
        target=info.name,
        target_source="given" if source == "given" else "auto",
        task=task.kind,
        positive_class=task.positive,
        metrics=utility_metrics(task.kind, results["synthetic"], results["real"]),
        tstr=results["synthetic"],
        trtr=results["real"],
        notes=notes,
    )


def utility_metrics(kind: TaskKind, tstr: ModelScores, trtr: ModelScores) -> list[Metric]:
    """Headline utility metrics with their meanings."""
    key = "r2" if kind == "regression" else "roc_auc"
    name = "R²" if kind == "regression" else "ROC-AUC"
    what = (
        "share of the target's variation explained (1 = perfect, 0 = no better than the average)"
        if kind == "regression"
        else "how well the model ranks positive cases above the rest (1 = perfect, 0.5 = chance)"
    )
    s, r = tstr.scores.get(key), trtr.scores.get(key)
    ratio = None
    if s is not None and r is not None and r > 0:
        ratio = max(s, 0.0) / r
    short = "r2" if kind == "regression" else "auc"
    return [
        Metric(
            key=f"utility_tstr_{short}",
            label=f"{name}, trained on synthetic",
            value=s,
            direction="higher",
            meaning=f"A model trained only on synthetic rows, tested on real unseen rows: {what}.",
        ),
        Metric(
            key=f"utility_trtr_{short}",
            label=f"{name}, trained on real",
            value=r,
            direction="higher",
            meaning="The same model trained on the real training rows: the bar to reach.",
        ),
        Metric(
            key="utility_ratio",
            label="Utility ratio",
            value=ratio,
            direction="higher",
            meaning=f"Synthetic-trained {name} divided by real-trained {name}: 1 means analyses "
            "done on the synthetic data work as well as on the real data.",
            note=None if ratio is not None else "undefined when the real-trained score is <= 0",
        ),
    ]
