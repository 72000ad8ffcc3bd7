"""Our synthesizers, one fit per process in the workspace venv (``sys.executable``).

The method is looked up in the trainer's registry, so a synthesizer appears here as soon as it
is registered. It reads the datasets pipeline's training parquet (the trainer's own input, typed
as the trainer sees it) and gets the column specs the trainer builds, with the public metadata
the spec declares (none: bounds and categories are found under DP, within ε). ``params`` go to
the synthesizer with the spec's target column added as the trainer adds the dataset's.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from benchmarks._peers.protocol import (
    Result,
    Spec,
    package_versions,
    save_synthetic,
    stopwatch,
    worker_main,
)


def run(spec: Spec) -> Result:
    """Fit ``spec.method`` from our registry and sample ``spec.sample_rows`` rows."""
    import torch  # noqa: PLC0415 - after limit_threads

    from sds_trainer.domain.synthesizers import (  # noqa: PLC0415
        PrivacyBudget,
        column_specs,
        get_synthesizer,
        with_target,
    )

    torch.set_num_threads(spec.threads)
    path = Path(spec.train_path)
    frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    privacy = None
    if spec.epsilon is not None and spec.delta is not None:
        privacy = PrivacyBudget(epsilon=spec.epsilon, delta=spec.delta)
    cls = get_synthesizer(spec.method)
    model = cls()
    with stopwatch() as fit_s:
        report = model.fit(
            frame,
            columns=column_specs(spec.columns, frame, spec.public_metadata),
            privacy=privacy,
            params=with_target(cls, spec.params, spec.target),
            seed=spec.seed,
        )
    with stopwatch() as sample_s:
        synthetic = model.sample(spec.sample_rows, seed=spec.seed + 1)
    save_synthetic(spec, synthetic)
    notes = [f"accountant {report.accountant}"] if report.accountant else []
    return Result(
        fit_s=fit_s[0],
        sample_s=sample_s[0],
        rows=len(synthetic),
        epsilon_spent=report.epsilon,
        versions=package_versions("torch", "opacus", "numpy", "pandas"),
        notes=notes,
    )


if __name__ == "__main__":
    worker_main(run)
