"""The ``ctgan`` package (sdv-dev, non-DP CTGAN), run in its own venv (``.bench/venvs/ctgan``).

``params``: ``epochs`` and ``batch_size`` (the orchestrator passes dp-ctgan's defaults); the
package's other settings keep their defaults (PacGAN pac=10, Bayesian-GMM modes).
"""

from __future__ import annotations

from benchmarks._peers.protocol import (
    Result,
    Spec,
    load_table,
    package_versions,
    save_synthetic,
    stopwatch,
    worker_main,
)


def run(spec: Spec) -> Result:
    """Fit the package's CTGAN on the training rows and sample ``spec.sample_rows`` rows."""
    if spec.method != "ctgan" or spec.epsilon is not None:
        raise SystemExit(f"ctgan worker: fits the non-DP 'ctgan' only, not {spec.method!r}")
    import numpy as np  # noqa: PLC0415 - after limit_threads
    import torch  # noqa: PLC0415
    from ctgan import CTGAN  # type: ignore[import-not-found, unused-ignore]  # noqa: PLC0415

    torch.set_num_threads(spec.threads)
    torch.manual_seed(spec.seed)
    np.random.seed(spec.seed)
    frame = load_table(spec.train_path, spec.columns)
    model = CTGAN(
        epochs=int(spec.params.get("epochs", 30)),
        batch_size=int(spec.params.get("batch_size", 500)),
        enable_gpu=False,
    )
    model.set_random_state(spec.seed)
    with stopwatch() as fit_s:
        model.fit(frame, discrete_columns=spec.categorical)
    with stopwatch() as sample_s:
        synthetic = model.sample(spec.sample_rows)
    save_synthetic(spec, synthetic)
    return Result(
        fit_s=fit_s[0],
        sample_s=sample_s[0],
        rows=len(synthetic),
        versions=package_versions("ctgan", "torch", "rdt", "pandas"),
        notes=[f"{model._epochs} epochs, batch size {model._batch_size}, pac {model.pac}"],
    )


if __name__ == "__main__":
    worker_main(run)
