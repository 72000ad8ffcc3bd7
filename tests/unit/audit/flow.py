"""One generator's life as events, for the audit service tests."""

from __future__ import annotations

import uuid
from typing import Any

from sds_common.events import (
    AuthenticationFailed,
    DatasetProfiled,
    DatasetUploaded,
    DpConfigRejected,
    EvaluationCompleted,
    EvaluationRequested,
    ExplanationGenerated,
    ExplanationRequested,
    GenerationRequested,
    ModelTrained,
    PrivacyBudgetReserved,
    PrivacyBudgetSpent,
    PrivacySpec,
    SyntheticDataDownloaded,
    SyntheticDataGenerated,
    TrainingProgress,
    TrainingRequested,
    TrainingStarted,
)
from sds_common.events.datasets import ColumnSummary

D, G, G2, S, E, X = (uuid.uuid4() for _ in range(6))
PROJECT = "3f6c1a52-8d0e-4b7a-9c21-5e4f0d7b8a69"  # as the gateway writes a project id
#: The ledger the trainer charged: the uploaded file's bytes (its SHA-256).
LEDGER = "sha256:" + "0" * 64


def flow() -> list[tuple[Any, dict[str, Any]]]:
    """One generator's life on dataset D, plus a second generator and unrelated noise."""
    user = {"actor": "alice", "project_id": PROJECT}
    trainer = {"actor": "trainer", "project_id": PROJECT, "correlation_id": str(G)}
    return [
        (
            DatasetUploaded(
                dataset_id=D,
                name="patients",
                object_key=f"uploads/{D}",
                filename="p.csv",
                format="csv",
                size_bytes=10,
                sha256="0" * 64,
            ),
            user,
        ),
        (
            DatasetProfiled(
                dataset_id=D,
                n_rows=100,
                n_columns=2,
                columns=(
                    ColumnSummary(name="a", kind="numeric", missing_fraction=0, distinct=5),
                    ColumnSummary(
                        name="mail", kind="text", missing_fraction=0, distinct=99, pii=("email",)
                    ),
                ),
                profile_key="p",
                table_key="t",
                train_key="tr",
                holdout_key="h",
                holdout_rows=20,
            ),
            {"actor": "datasets", "project_id": PROJECT},
        ),
        (
            TrainingRequested(
                generator_id=G,
                dataset_id=D,
                method="dp-ctgan",
                privacy=PrivacySpec(epsilon=3.0, delta=1e-6, preprocessing_epsilon_share=0.1),
            ),
            user,
        ),
        (
            PrivacyBudgetReserved(
                dataset_id=D,
                generator_id=G,
                ledger=LEDGER,
                epsilon=3.0,
                delta=1e-6,
                remaining_epsilon=7.0,
            ),
            trainer,
        ),
        (TrainingStarted(generator_id=G, dataset_id=D, device="cpu"), trainer),
        (TrainingProgress(generator_id=G, epoch=1, total_epochs=2, epsilon_spent=1.5), trainer),
        (TrainingProgress(generator_id=G, epoch=2, total_epochs=2, epsilon_spent=2.9), trainer),
        (
            ModelTrained(
                generator_id=G,
                dataset_id=D,
                model_key="m",
                method="dp-ctgan",
                epsilon=2.9,
                delta=1e-6,
                epochs=2,
                duration_s=1.0,
            ),
            trainer,
        ),
        (
            PrivacyBudgetSpent(
                dataset_id=D,
                generator_id=G,
                ledger=LEDGER,
                epsilon=2.9,
                delta=1e-6,
                preprocessing_epsilon=0.3,
                accountant="rdp",
                noise_multiplier=1.1,
                sample_rate=0.01,
                steps=200,
                remaining_epsilon=7.1,
                mechanism="DP-SGD (Gaussian noise on clipped per-record gradients)",
                training_epsilon=2.6,
                max_grad_norm=1.0,
                epochs=2,
                batch_size=50,
            ),
            trainer,
        ),
        # A second generator on the same dataset: its records are not G's trail.
        (TrainingRequested(generator_id=G2, dataset_id=D, method="dp-ctgan", privacy=None), user),
        (
            DpConfigRejected(dataset_id=D, generator_id=G2, reasons=("epsilon above the cap",)),
            {"actor": "trainer", "project_id": PROJECT, "correlation_id": str(G2)},
        ),
        (GenerationRequested(generator_id=G, synthetic_dataset_id=S, rows=10), user),
        (
            SyntheticDataGenerated(
                generator_id=G, synthetic_dataset_id=S, dataset_id=D, object_key="s", rows=10
            ),
            {"actor": "trainer", "project_id": PROJECT, "correlation_id": str(S)},
        ),
        (EvaluationRequested(evaluation_id=E, synthetic_dataset_id=S), user),
        (
            EvaluationCompleted(
                evaluation_id=E,
                synthetic_dataset_id=S,
                generator_id=G,
                scores={
                    "fidelity": 0.9,
                    "dcr_share": 0.52,
                    "mia_auc": 0.51,
                    "mia_epsilon_lower_bound": 0.4,
                },
                report_key="r",
                html_report_key="h",
            ),
            {"actor": "evaluator", "project_id": PROJECT},
        ),
        (ExplanationRequested(explanation_id=X, kind="evaluation", subject_id=E), user),
        (
            ExplanationGenerated(
                explanation_id=X,
                kind="evaluation",
                subject_id=E,
                provider="offline",
                object_key="x",
            ),
            {"actor": "llm", "project_id": PROJECT},
        ),
        (SyntheticDataDownloaded(user_id="alice", synthetic_dataset_id=S, format="csv"), user),
        (
            AuthenticationFailed(reason="bad signature", method="GET", path="/api/v1/x"),
            {"actor": "gateway"},
        ),
    ]
