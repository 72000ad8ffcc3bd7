"""Fakes and fixtures of the llm tests: a recording provider and documents holding markers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry

from sds_llm.adapters.cache import LruCache
from sds_llm.adapters.metrics import LlmMetrics
from sds_llm.adapters.providers import Completion, Generation, ResilientProvider, RetryPolicy
from sds_llm.assistant import Assistant
from sds_llm.domain.models import Prompt

MARKER = "ZZMARKER_7f3a"
MARKER_NUMBER = "987654.321"


@dataclass
class RecordingProvider:
    """Answers "ok" and keeps every prompt it was sent."""

    name: str = "recording"
    model: str = "fake-1"
    prompts: list[Prompt] = field(default_factory=list)
    tokens: int = 50

    async def complete(
        self, prompt: Prompt, *, max_tokens: int, temperature: float, timeout_s: float
    ) -> Completion:
        self.prompts.append(prompt)
        return Completion(
            text=f"answer {len(self.prompts)}",
            provider=self.name,
            model=self.model,
            input_tokens=self.tokens,
            output_tokens=self.tokens,
            latency_s=0.01,
        )

    async def stream(
        self, prompt: Prompt, *, max_tokens: int, temperature: float, timeout_s: float
    ) -> AsyncIterator[str]:
        self.prompts.append(prompt)
        for chunk in ("streamed ", "answer"):
            yield chunk


@dataclass
class MemoryLedger:
    usage: dict[tuple[str, str], int] = field(default_factory=dict)

    async def used(self, *, project_id: str, day: str) -> int:
        return self.usage.get((project_id, day), 0)

    async def add(self, *, project_id: str, day: str, tokens: int) -> None:
        self.usage[(project_id, day)] = self.usage.get((project_id, day), 0) + tokens


async def no_sleep(_delay: float) -> None:
    return None


def assistant_for(provider: Any, *, budget: int = 1_000_000) -> Assistant:
    return Assistant(
        provider=ResilientProvider(
            provider, retry=RetryPolicy(max_retries=2), generation=Generation(), sleep=no_sleep
        ),
        cache=LruCache(max_entries=16),
        metrics=LlmMetrics(CollectorRegistry()),
        budget_tokens=budget,
    )


def report() -> dict[str, Any]:
    """An evaluator report (schema of ``sds_evaluator.domain.models``) salted with markers."""
    return {
        "report_version": 1,
        "seed": 0,
        "rows": {"real_train": 800, "real_holdout": 400, "synthetic": 800},
        "columns_used": [
            {"name": "age", "kind": "numeric"},
            {"name": "workclass", "kind": "categorical"},
            {"name": "income", "kind": "categorical"},
        ],
        "columns_excluded": ["ssn"],
        "scores": {
            "fidelity": 0.66,
            "column_shapes": 0.71,
            "column_pairs": 0.60,
            "fidelity_reference": 0.93,
            "utility_tstr_auc": 0.71,
            "utility_trtr_auc": 0.86,
            "utility_ratio": 0.8256,
            "dcr_share": 0.52,
            "exact_copies": 0.0,
            "mia_auc": 0.51,
            "mia_epsilon_lower_bound": 0.2,
        },
        "fidelity": {
            "metrics": [
                {
                    "key": "fidelity",
                    "label": "Fidelity",
                    "value": 0.66,
                    "direction": "higher",
                    "meaning": f"overall {MARKER}",
                    "note": f"note {MARKER}",
                }
            ],
            "columns": [
                {
                    "name": "age",
                    "kind": "numeric",
                    "metric": "ks_complement",
                    "score": 0.85,
                    "missing_real": 0.0,
                    "missing_synthetic": 0.0,
                },
                {
                    "name": "workclass",
                    "kind": "categorical",
                    "metric": "tv_complement",
                    "score": 0.55,
                    "missing_real": 0.01,
                    "missing_synthetic": 0.0,
                },
            ],
            "pairs": [
                {
                    "left": "age",
                    "right": "workclass",
                    "metric": "contingency_similarity",
                    "score": 0.6,
                    "real_association": 0.3,
                    "synthetic_association": 0.2,
                }
            ],
            "pairs_total": 3,
            "distributions": [
                {
                    "name": "workclass",
                    "kind": "categorical",
                    "labels": [MARKER, "Private", "(other)"],
                    "real": [0.1, 0.8, 0.1],
                    "synthetic": [0.0, 0.9, 0.1],
                    "score": 0.55,
                },
                {
                    "name": "age",
                    "kind": "numeric",
                    "labels": [f"{MARKER_NUMBER} to 1000000"],
                    "real": [1.0],
                    "synthetic": [1.0],
                    "score": 0.85,
                },
            ],
            "associations": {
                "columns": ["age", "workclass"],
                "real": [[1.0, 0.3], [0.3, 1.0]],
                "synthetic": [[1.0, 0.2], [0.2, 1.0]],
            },
            "notes": [f"rare category {MARKER} dropped"],
        },
        "utility": {
            "status": "ok",
            "target": "income",
            "target_source": "given",
            "task": "binary",
            "positive_class": MARKER,
            "metrics": [],
            "notes": [MARKER],
        },
        "privacy_risk": {
            "status": "ok",
            "metrics": [],
            "attribute_inference": [
                {
                    "column": "workclass",
                    "baseline_accuracy": 0.7,
                    "accuracy_on_members": 0.72,
                    "accuracy_on_non_members": 0.71,
                    "lift": 0.02,
                    "member_advantage": 0.01,
                }
            ],
            "rows_used": {"real": 800},
            "notes": [f"closest record {MARKER_NUMBER}"],
        },
        "privacy_guarantee": {
            "differentially_private": True,
            "epsilon": 3.0,
            "delta": 1e-5,
            "mechanism": "DP-SGD",
            "details": {"secret": MARKER},
            "meaning": f"meaning {MARKER}",
        },
        "methods": [f"method {MARKER}"],
        "timings_s": {"total": 1.0},
    }


def columns() -> list[dict[str, Any]]:
    """``ColumnSummary`` dumps as in ``DatasetProfiled``."""
    return [
        {"name": "age", "kind": "numeric", "missing_fraction": 0.0, "distinct": 73, "pii": []},
        {
            "name": "workclass",
            "kind": "categorical",
            "missing_fraction": 0.056,
            "distinct": 9,
            "pii": [],
        },
        {
            "name": "email",
            "kind": "identifier",
            "missing_fraction": 0.0,
            "distinct": 800,
            "pii": ["email"],
        },
        {"name": "salary", "kind": "numeric", "missing_fraction": 0.1, "distinct": 700, "pii": []},
    ]


def profile_columns() -> list[dict[str, Any]]:
    """Profile entries (``sds_datasets.domain.profile``): owner-only values and quantiles."""
    return [
        {
            "name": "age",
            "kind": "numeric",
            "count": 800,
            "missing": 0,
            "missing_fraction": 0.0,
            "distinct": 73,
            "pii": [],
            "min": 17.0,
            "max": float(MARKER_NUMBER),
            "quantiles": {"p50": float(MARKER_NUMBER), "p99": float(MARKER_NUMBER)},
            "histogram": {"edges": [17.0, float(MARKER_NUMBER)], "counts": [800]},
        },
        {
            "name": "workclass",
            "kind": "categorical",
            "count": 755,
            "missing": 45,
            "missing_fraction": 0.056,
            "distinct": 9,
            "pii": [],
            "top": [{"value": MARKER, "count": 1, "share": 0.001}],
        },
        {
            "name": "email",
            "kind": "identifier",
            "missing_fraction": 0.0,
            "distinct": 800,
            "pii": [{"kind": "email", "source": "values", "share": 1.0}],
            "values_withheld": "the column holds personal data",
            "length": {"min": 10, "mean": 20.5, "max": 40},
        },
    ]


def profile() -> dict[str, Any]:
    return {"dp": False, "n_rows": 800, "columns": profile_columns()}
