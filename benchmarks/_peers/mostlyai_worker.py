"""mostlyai-engine's TabularARGN with DP-SGD, run in its own venv (``.bench/venvs/mostlyai``).

Budget: ``differential_privacy = {max_epsilon: ε, delta: δ, value_protection_epsilon:
share·ε}``; the engine adds the analysis' ε (value protection: DP ranges and rare-category
thresholds) to the DP-SGD ε and stops training before the total passes ``max_epsilon``, keeping
the last checkpoint below it. It holds out 20% of the rows it is given for early stopping (its
design). Everything runs locally (the default ``MOSTLY_AI/Medium`` is an architecture, not a
download). ``params``: ``max_training_time`` (minutes), ``max_epochs``, ``preprocessor_share``.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from benchmarks._peers.protocol import (
    Result,
    Spec,
    load_table,
    package_versions,
    save_synthetic,
    stopwatch,
    worker_main,
)

PREPROCESSOR_SHARE = 0.1


def _spent(workspace: Path) -> float | None:
    """The last DP ε the engine logged for the kept model, if it logged one."""
    for path in sorted(workspace.rglob("*progress-messages*.csv")):
        import pandas as pd  # noqa: PLC0415

        log = pd.read_csv(path)
        if "dp_eps" in log and log["dp_eps"].notna().any():
            return float(log["dp_eps"].dropna().iloc[-1])
    return None


def run(spec: Spec) -> Result:
    """Fit the engine's tabular model under (ε, δ) and sample ``spec.sample_rows`` rows."""
    if spec.method != "tabular-argn" or spec.epsilon is None or spec.delta is None:
        raise SystemExit("mostlyai worker: fits 'tabular-argn' with ε and δ only")
    import pandas as pd  # noqa: PLC0415
    import torch  # noqa: PLC0415
    from mostlyai import engine  # type: ignore[import-not-found, unused-ignore]  # noqa: PLC0415
    from mostlyai.engine.domain import (  # type: ignore[import-not-found, unused-ignore]  # noqa: PLC0415
        DifferentialPrivacyConfig,
    )

    torch.set_num_threads(spec.threads)
    engine.set_random_state(spec.seed)
    frame = load_table(spec.train_path, spec.columns)
    share = float(spec.params.get("preprocessor_share", PREPROCESSOR_SHARE))
    dp = {
        "max_epsilon": spec.epsilon,
        "delta": spec.delta,
        "value_protection_epsilon": share * spec.epsilon,
    }
    with tempfile.TemporaryDirectory(prefix="mostlyai-", dir=spec.out_dir) as tmp:
        workspace = Path(tmp)
        with stopwatch() as fit_s:
            engine.split(tgt_data=frame, model_type="TABULAR", workspace_dir=workspace)
            engine.analyze(
                differential_privacy=DifferentialPrivacyConfig(**dp), workspace_dir=workspace
            )
            engine.encode(workspace_dir=workspace)
            engine.train(
                max_training_time=float(spec.params.get("max_training_time", 10.0)),
                max_epochs=float(spec.params.get("max_epochs", 100.0)),
                differential_privacy=dp,
                device="cpu",
                workspace_dir=workspace,
            )
        with stopwatch() as sample_s:
            engine.generate(sample_size=spec.sample_rows, device="cpu", workspace_dir=workspace)
            synthetic = pd.read_parquet(workspace / "SyntheticData")
        spent = _spent(workspace)
    save_synthetic(spec, synthetic[[c["name"] for c in spec.columns]])
    return Result(
        fit_s=fit_s[0],
        sample_s=sample_s[0],
        rows=len(synthetic),
        epsilon_spent=spent,
        versions=package_versions("mostlyai-engine", "torch", "opacus", "pandas"),
        notes=[f"differential_privacy={json.dumps(dp)}; model MOSTLY_AI/Medium"],
    )


if __name__ == "__main__":
    worker_main(run)
