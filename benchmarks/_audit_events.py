"""Realistic audit input for ``benchmarks/audit.py``: whole generator lives, as services emit them.

One life is 36 events on six topics: a dataset's upload and profile, a DP training (request,
budget reservation, start, 20 progress epochs, model, spend, release), a sample, its evaluation,
an explanation, a download, plus an authentication failure reported by the gateway. Every
aggregate gets fresh ids, so the keys spread over every partition, as in production.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from typing import Any, Final

from sds_common.events import (
    AuthenticationFailed,
    ColumnSummary,
    DatasetProfiled,
    DatasetUploaded,
    Envelope,
    EvaluationCompleted,
    EvaluationRequested,
    Event,
    ExplanationGenerated,
    ExplanationRequested,
    GenerationRequested,
    ModelTrained,
    PrivacyBudgetReleased,
    PrivacyBudgetReserved,
    PrivacyBudgetSpent,
    PrivacySpec,
    SyntheticDataDownloaded,
    SyntheticDataGenerated,
    TrainingProgress,
    TrainingRequested,
    TrainingStarted,
)

EPOCHS: Final = 20
EVENTS_PER_LIFE: Final = 16 + EPOCHS
_COLUMNS: Final = tuple(
    ColumnSummary(
        name=f"column_{i}",
        kind="numeric" if i % 3 else "categorical",
        missing_fraction=0.01 * (i % 4),
        distinct=10 + 37 * i,
        pii=("email",) if i == 4 else (),
    )
    for i in range(14)
)


def envelopes(count: int, *, seed: int = 0) -> Iterator[Envelope]:
    """``count`` envelopes: whole lives in emission order, the last one cut short."""
    rng = random.Random(seed)
    emitted = 0
    while emitted < count:
        for envelope in _life(rng):
            yield envelope
            emitted += 1
            if emitted == count:
                return


def _id(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _life(rng: random.Random) -> Iterator[Envelope]:
    project = f"project-{rng.randrange(50)}"
    user = f"user-{rng.randrange(500)}"
    d, g, s, e, x = (_id(rng) for _ in range(5))
    epsilon = rng.choice((0.5, 1.0, 3.0))
    as_user = {"actor": user, "project_id": project}
    trainer = {"actor": "trainer", "project_id": project, "correlation_id": str(g)}

    def wrap(event: Event, context: dict[str, Any]) -> Envelope:
        return Envelope.wrap(event, **context)

    yield wrap(
        DatasetUploaded(
            dataset_id=d,
            name="patients 2026-Q3",
            object_key=f"uploads/{d}/patients.csv",
            filename="patients.csv",
            format="csv",
            size_bytes=rng.randrange(10**5, 10**8),
            sha256=f"{rng.getrandbits(256):064x}",
            target_column="outcome",
        ),
        as_user,
    )
    yield wrap(
        DatasetProfiled(
            dataset_id=d,
            n_rows=30_000,
            n_columns=len(_COLUMNS),
            columns=_COLUMNS,
            profile_key=f"datasets/{d}/profile.json",
            table_key=f"datasets/{d}/table.parquet",
            train_key=f"datasets/{d}/train.parquet",
            holdout_key=f"datasets/{d}/holdout.parquet",
            holdout_rows=6_000,
            target_column="outcome",
        ),
        {"actor": "datasets", "project_id": project, "correlation_id": str(d)},
    )
    yield wrap(
        TrainingRequested(
            generator_id=g,
            dataset_id=d,
            method="dp-ctgan",
            params={"epochs": EPOCHS, "batch_size": 500},
            privacy=PrivacySpec(epsilon=epsilon, delta=1e-6),
        ),
        as_user,
    )
    yield wrap(
        PrivacyBudgetReserved(
            dataset_id=d,
            generator_id=g,
            ledger=f"dataset:{d}",
            epsilon=epsilon,
            delta=1e-6,
            remaining_epsilon=10.0,
        ),
        trainer,
    )
    yield wrap(TrainingStarted(generator_id=g, dataset_id=d, device="cpu"), trainer)
    for epoch in range(1, EPOCHS + 1):
        yield wrap(
            TrainingProgress(
                generator_id=g,
                epoch=epoch,
                total_epochs=EPOCHS,
                epsilon_spent=epsilon * epoch / EPOCHS,
                losses={"generator": rng.uniform(0.5, 1.5)},
            ),
            trainer,
        )
    spent = epsilon * 0.97
    yield wrap(
        ModelTrained(
            generator_id=g,
            dataset_id=d,
            model_key=f"models/{g}/model.pt",
            method="dp-ctgan",
            epsilon=spent,
            delta=1e-6,
            epochs=EPOCHS,
            duration_s=rng.uniform(60, 600),
            privacy_report_key=f"models/{g}/privacy.json",
        ),
        trainer,
    )
    yield wrap(
        PrivacyBudgetSpent(
            dataset_id=d,
            generator_id=g,
            ledger=f"dataset:{d}",
            epsilon=spent,
            delta=1e-6,
            preprocessing_epsilon=0.1 * spent,
            accountant="rdp",
            noise_multiplier=1.1,
            sample_rate=500 / 24_000,
            steps=EPOCHS * 48,
            remaining_epsilon=10.0 - spent,
            mechanism="DP-SGD (Gaussian noise on clipped per-record gradients)",
            training_epsilon=0.9 * spent,
            max_grad_norm=1.0,
            epochs=EPOCHS,
            batch_size=500,
        ),
        trainer,
    )
    yield wrap(
        PrivacyBudgetReleased(
            dataset_id=d,
            generator_id=g,
            ledger=f"dataset:{d}",
            epsilon=epsilon - spent,
            delta=0.0,
            reason="training finished below its reservation",
            remaining_epsilon=10.0 - spent,
        ),
        trainer,
    )
    yield wrap(GenerationRequested(generator_id=g, synthetic_dataset_id=s, rows=10_000), as_user)
    yield wrap(
        SyntheticDataGenerated(
            generator_id=g,
            synthetic_dataset_id=s,
            dataset_id=d,
            object_key=f"synthetic/{s}.parquet",
            rows=10_000,
        ),
        {"actor": "trainer", "project_id": project, "correlation_id": str(s)},
    )
    yield wrap(EvaluationRequested(evaluation_id=e, synthetic_dataset_id=s), as_user)
    yield wrap(
        EvaluationCompleted(
            evaluation_id=e,
            synthetic_dataset_id=s,
            generator_id=g,
            scores={
                "fidelity": rng.uniform(0.7, 0.95),
                "utility_ratio": rng.uniform(0.7, 1.0),
                "dcr_share": rng.uniform(0.45, 0.55),
                "mia_auc": rng.uniform(0.48, 0.55),
                "mia_epsilon_lower_bound": 0.0,
                "exact_copies": 0.0,
            },
            report_key=f"evaluations/{e}/report.json",
            html_report_key=f"evaluations/{e}/report.html",
        ),
        {"actor": "evaluator", "project_id": project},
    )
    yield wrap(ExplanationRequested(explanation_id=x, kind="evaluation", subject_id=e), as_user)
    yield wrap(
        ExplanationGenerated(
            explanation_id=x,
            kind="evaluation",
            subject_id=e,
            provider="offline",
            object_key=f"explanations/{x}.md",
        ),
        {"actor": "llm", "project_id": project},
    )
    yield wrap(SyntheticDataDownloaded(user_id=user, synthetic_dataset_id=s, format="csv"), as_user)
    yield wrap(
        AuthenticationFailed(
            reason="signature mismatch", method="GET", path="/api/v1/datasets", client="10.0.0.7"
        ),
        {"actor": "gateway"},
    )
