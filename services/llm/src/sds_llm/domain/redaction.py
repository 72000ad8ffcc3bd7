"""The privacy boundary: turns reports and schemas into the ONLY facts a provider may see.

Everything that reaches a provider passes through these functions, which copy named fields
(allow-lists, never deny-lists): column names, kinds, missing fractions, PII kinds, bucketed
cardinalities, scores, row and column counts, the claimed (ε, δ). They never copy category labels,
histogram bins, quantiles, min/max, top-k values, free-text notes or a positive class, since each of
those can be a real person's value. The input may be a full profile or report: what is not on the
allow-list is dropped. The validity section's flags pass as (column name, check code) pairs:
their plain-words reasons are free text and stay behind.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from pydantic import JsonValue

from sds_llm.domain.methods import METHODS

KINDS: Final = ("numeric", "categorical", "boolean", "datetime", "identifier", "text")
SCORE_KEYS: Final = (
    "validity",
    "validity_flagged_columns",
    "fidelity",
    "column_shapes",
    "column_pairs",
    "fidelity_reference",
    "utility_tstr_auc",
    "utility_trtr_auc",
    "utility_tstr_r2",
    "utility_trtr_r2",
    "utility_ratio",
    "dcr_share",
    "exact_copies",
    "mia_auc",
    "mia_epsilon_lower_bound",
    "attribute_inference_advantage",
    "baseline_fidelity",
    "baseline_column_shapes",
    "baseline_column_pairs",
    "baseline_utility_tstr_auc",
    "baseline_utility_tstr_r2",
    "baseline_utility_ratio",
)
#: The evaluator's validity check codes (``sds_evaluator.domain.validity.CHECKS``).
VALIDITY_CHECKS: Final = (
    "absent",
    "empty",
    "out_of_range",
    "missing_excess",
    "unknown_categories",
    "categories_lost",
    "dtype",
    "representation",
    "not_unique",
    "id_shape",
)
MAX_FLAGS: Final = 20
PII_KINDS: Final = (
    "email",
    "phone",
    "national_id",
    "address",
    "birth_date",
    "postal_code",
    "ip_address",
    "iban",
    "card_number",
    "person_name",
    "geolocation",
    "account_id",
    "health",
    "financial",
    "special_category",
    "quasi_identifier",
)
MECHANISMS: Final = ("DP-SGD", "dp-sgd", "dpsgd", "PATE", "pate", "MST", "mst", "AIM", "aim")
USES: Final = ("ml_training", "analytics", "sharing", "testing")
MAX_NAME: Final = 80
MAX_COLUMNS: Final = 200
MAX_QUESTION: Final = 2_000
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_WORST: Final = 5


def safe_name(value: object) -> str:
    """A column name as a provider may see it: one line, bounded length."""
    text = _CONTROL.sub(" ", str(value)).strip()
    return text[:MAX_NAME]


def _number(value: object, *, digits: int = 4) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return round(number, digits) if math.isfinite(number) else None


def _kind(value: object) -> str:
    return value if isinstance(value, str) and value in KINDS else "text"


def _pii(value: object) -> list[str]:
    """PII kinds only (a profile holds findings as dicts, an event as strings)."""
    kinds: list[str] = []
    for item in value if isinstance(value, list | tuple) else ():
        kind = item.get("kind") if isinstance(item, Mapping) else item
        if isinstance(kind, str) and kind in PII_KINDS and kind not in kinds:
            kinds.append(kind)
        elif isinstance(kind, str) and kind not in kinds:
            kinds.append("other")
    return kinds


def cardinality(distinct: object) -> str:
    """A distinct count as a coarse bucket (the exact count is not needed to explain a column)."""
    n = distinct if isinstance(distinct, int) and not isinstance(distinct, bool) else -1
    if n < 0:
        return "unknown"
    if n <= 2:
        return "binary"
    if n <= 20:
        return "few"
    if n <= 1000:
        return "many"
    return "very_many"


def schema_facts(columns: Iterable[Mapping[str, Any]]) -> list[JsonValue]:
    """Schema facts of columns given as event ``ColumnSummary`` dumps or profile entries."""
    facts: list[JsonValue] = []
    for column in list(columns)[:MAX_COLUMNS]:
        missing = _number(column.get("missing_fraction"), digits=3)
        facts.append(
            {
                "name": safe_name(column.get("name", "")),
                "kind": _kind(column.get("kind")),
                "missing_fraction": missing if missing is not None else 0.0,
                "cardinality": cardinality(column.get("distinct")),
                "pii": list(_pii(column.get("pii", ()))),
            }
        )
    return facts


def dataset_facts(
    *, n_rows: int, columns: Sequence[Mapping[str, Any]], target_column: str | None
) -> dict[str, JsonValue]:
    """Facts of a dataset: its size and its column schema."""
    return {
        "n_rows": int(n_rows),
        "n_columns": len(columns),
        "target_column": safe_name(target_column) if target_column else None,
        "columns": schema_facts(columns),
    }


def _section(report: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = report.get(name)
    return value if isinstance(value, Mapping) else {}


def _scored(items: object, *, names: Sequence[str], limit: int) -> list[JsonValue]:
    """The lowest-scoring entries, with only ``names`` (names of columns) and the score."""
    rows = [item for item in items if isinstance(item, Mapping)] if isinstance(items, list) else []
    scored = [(row, _number(row.get("score"))) for row in rows]
    kept = sorted(((r, s) for r, s in scored if s is not None), key=lambda pair: pair[1])
    out: list[JsonValue] = []
    for row, score in kept[:limit]:
        entry: dict[str, JsonValue] = {name: safe_name(row.get(name, "")) for name in names}
        entry["score"] = score
        out.append(entry)
    return out


def _guarantee(section: Mapping[str, Any]) -> dict[str, JsonValue]:
    mechanism = section.get("mechanism")
    return {
        "differentially_private": bool(section.get("differentially_private", False)),
        "epsilon": _number(section.get("epsilon")),
        "delta": _number(section.get("delta"), digits=12),
        "mechanism": mechanism if mechanism in MECHANISMS else None,
        "preprocessing_epsilon": _number(section.get("preprocessing_epsilon")),
    }


def _validity_flags(section: Mapping[str, Any]) -> list[JsonValue]:
    """(column, check) of each failed validity check; reasons are free text and stay behind."""
    flags = section.get("flags")
    rows = [f for f in flags if isinstance(f, Mapping)] if isinstance(flags, list) else []
    out: list[JsonValue] = [
        {"column": safe_name(row.get("column", "")), "check": row["check"]}
        for row in rows
        if row.get("check") in VALIDITY_CHECKS
    ]
    return out[:MAX_FLAGS]


def _attribute_inference(items: object) -> list[JsonValue]:
    rows = [i for i in items if isinstance(i, Mapping)] if isinstance(items, list) else []
    out: list[JsonValue] = [
        {
            "column": safe_name(row.get("column", "")),
            "lift": _number(row.get("lift")),
            "member_advantage": _number(row.get("member_advantage")),
        }
        for row in rows
    ]
    out.sort(key=lambda e: -(e["member_advantage"] or 0.0) if isinstance(e, dict) else 0.0)  # type: ignore[operator]
    return out[:3]


def evaluation_facts(report: Mapping[str, Any]) -> dict[str, JsonValue]:
    """Facts of an evaluation report (the evaluator's JSON): scores and schema names only."""
    scores_in = report.get("scores")
    scores_map = scores_in if isinstance(scores_in, Mapping) else {}
    scores: dict[str, JsonValue] = {}
    for key in SCORE_KEYS:
        value = _number(scores_map.get(key))
        if value is not None:
            scores[key] = value
    rows_in = report.get("rows")
    rows_map = rows_in if isinstance(rows_in, Mapping) else {}
    rows: dict[str, JsonValue] = {
        key: int(rows_map[key])
        for key in ("real_train", "real_holdout", "synthetic")
        if isinstance(rows_map.get(key), int)
    }
    used = report.get("columns_used")
    used_list = [c for c in used if isinstance(c, Mapping)] if isinstance(used, list) else []
    kinds = [_kind(c.get("kind")) for c in used_list]
    excluded = report.get("columns_excluded")
    fidelity = _section(report, "fidelity")
    utility = _section(report, "utility")
    risk = _section(report, "privacy_risk")
    task = utility.get("task")
    status = utility.get("status")
    method = report.get("method")
    return {
        "scores": scores,
        "method": method if isinstance(method, str) and method in METHODS else None,
        "validity_flags": _validity_flags(_section(report, "validity")),
        "rows": rows,
        "n_columns": len(used_list),
        "n_categorical": sum(kind in ("categorical", "boolean") for kind in kinds),
        "n_numeric": sum(kind == "numeric" for kind in kinds),
        "n_excluded": len(excluded) if isinstance(excluded, list) else 0,
        "worst_columns": _scored(fidelity.get("columns"), names=("name", "kind"), limit=_WORST),
        "worst_pairs": _scored(fidelity.get("pairs"), names=("left", "right"), limit=3),
        "utility": {
            "status": status if status in ("ok", "no_target") else "skipped",
            "task": task if task in ("binary", "multiclass", "regression") else None,
            "target": safe_name(utility["target"]) if utility.get("target") else None,
            "chance_band": _number(utility.get("chance_band")),
        },
        "privacy_risk_status": "ok" if risk.get("status") == "ok" else "skipped",
        "attribute_inference": _attribute_inference(risk.get("attribute_inference")),
        "guarantee": _guarantee(_section(report, "privacy_guarantee")),
    }


def use_of(value: str) -> str:
    """Normalise a free-text target use ("ML training", "analytics") to a known one."""
    text = value.lower()
    if any(word in text for word in ("ml", "train", "model", "machine", "predict")):
        return "ml_training"
    if any(word in text for word in ("shar", "publish", "releas", "open")):
        return "sharing"
    if any(word in text for word in ("test", "dev", "qa", "demo")):
        return "testing"
    return "analytics"


def question(value: str) -> str:
    """A chat question as a provider may see it: bounded, control characters removed."""
    return _CONTROL.sub(" ", value).strip()[:MAX_QUESTION]
