"""smartnoise-synth's DP-CTGAN, MST and AIM, run in their own venv (``.bench/venvs/smartnoise``).

Budget: the whole release gets ``spec.epsilon`` at ``spec.delta``.

MST and AIM get the care ours get (:mod:`.codes`, :mod:`.discretise`): the same declared public
metadata (``spec.public_metadata``), and every column passed to smartnoise as categorical codes
of a discretisation done here (one code per integer inside the bounds, 0 in a code of its own,
log-spaced bins for skewed ranges, datetimes as seconds); bounds that are not declared are found
with ``preprocessor_share`` (default 0.1, the share our synthesizers give their preprocessing) of
ε, SUBTRACTED from smartnoise's ε so the total stays ε; sampled codes are decoded back to values.
``params["discretise"] = False`` runs the old way instead (numeric columns as smartnoise's
``continuous_columns``: its ``BinTransformer(bins=10)`` between power-of-2 DP bounds, which put
all of a skewed column in one or two bins). DP-CTGAN always takes numeric columns as continuous,
with smartnoise's own DP bounds from ``preprocessor_eps``. Categories are read from the data by
smartnoise's label transformer without charging ε (its design; ours discover categories under DP
unless declared) — this favours the peer and is stated in the table notes.

Generation: mbi's ``synthetic_data`` defaults to randomised rounding (``method="round"``), which
fixes every marginal's counts and shuffles, inventing dependencies; we wrap the fitted model so
that ``sample`` draws rows i.i.d. from it (``method="sample"``: forward sampling along the
junction tree). ``params``: ``preprocessor_share``; for AIM ``rounds``/``max_model_size``; for
DP-CTGAN ``epochs``/``batch_size`` (its defaults otherwise: 300 epochs as a cap, sigma 5, it
stops when the accountant reaches ε) and ``calibrate_to_epsilon`` (see :func:`calibrated_sigma`).
"""

from __future__ import annotations

import contextlib
import io
from typing import Any

from benchmarks._peers.codes import decode_table, encode_table
from benchmarks._peers.protocol import (
    Result,
    Spec,
    load_table,
    package_versions,
    save_synthetic,
    stopwatch,
    worker_main,
)

METHODS = {"dpctgan": "dpctgan", "mst": "mst", "aim": "aim"}
PREPROCESSOR_SHARE = 0.1
DPCTGAN_SIGMA = 5.0  # DP-CTGAN's default noise multiplier
DPCTGAN_ORDERS = [1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64))


class IIDSampling:
    """Stands in for a fitted mbi model so ``synthetic_data`` draws rows i.i.d. from it."""

    def __init__(self, model: Any) -> None:
        self._model = model

    def synthetic_data(self, rows: int | None = None, method: str = "sample") -> Any:
        """mbi's generation with i.i.d. sampling as the default."""
        return self._model.synthetic_data(rows=rows, method=method)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)


def _rdp_epsilon(*, sigma: float, q: float, steps: int, delta: float) -> float:
    """ε of ``steps`` sampled-Gaussian steps with the accountant smartnoise's DP-CTGAN uses."""
    from opacus.privacy_analysis import (  # type: ignore[import-not-found, unused-ignore]  # noqa: PLC0415
        compute_rdp,
        get_privacy_spent,
    )

    rdp = compute_rdp(q, sigma, steps, DPCTGAN_ORDERS)
    return float(get_privacy_spent(DPCTGAN_ORDERS, rdp, delta)[0])


def calibrated_sigma(*, epsilon: float, reference: float, rows: int, spec: Spec) -> float:
    """The noise multiplier spending ``epsilon`` in the epochs sigma=5 takes for ``reference``.

    DP-CTGAN keeps sigma fixed (default 5) and trains until its accountant passes ε, so a larger ε
    means many more epochs (about 7x at ε=3 on Adult, hours here); this keeps the training
    length of the default at ε=1 instead. Its loop takes two discriminator steps per batch.
    """
    batch = int(spec.params.get("batch_size", 500))
    q, per_epoch = batch / rows, 2 * max(rows // batch, 1)
    delta = float(spec.delta or 0.0)
    epochs = 1
    while _rdp_epsilon(sigma=DPCTGAN_SIGMA, q=q, steps=epochs * per_epoch, delta=delta) < reference:
        epochs += 1
    low, high = 0.3, DPCTGAN_SIGMA * 4
    for _ in range(40):  # bisection: ε falls as sigma grows
        mid = (low + high) / 2
        spent = _rdp_epsilon(sigma=mid, q=q, steps=epochs * per_epoch, delta=delta)
        low, high = (low, mid) if spent <= epsilon else (mid, high)
    return high


def _options(spec: Spec, *, rows: int, preprocessor_eps: float) -> dict[str, Any]:
    params = dict(spec.params)
    params.pop("preprocessor_share", None)
    params.pop("discretise", None)
    reference = params.pop("calibrate_to_epsilon", None)
    if spec.method == "dpctgan":
        params.setdefault("cuda", False)
        params.setdefault("verbose", False)
        if reference is not None and spec.epsilon is not None:
            share = preprocessor_eps / spec.epsilon
            params["sigma"] = calibrated_sigma(
                epsilon=spec.epsilon - preprocessor_eps,
                reference=float(reference) * (1 - share),
                rows=rows,
                spec=spec,
            )
    return params


def run(spec: Spec) -> Result:
    """Fit one smartnoise synthesizer under (ε, δ) and sample ``spec.sample_rows`` rows."""
    if spec.method not in METHODS or spec.epsilon is None or spec.delta is None:
        raise SystemExit(f"smartnoise worker: needs one of {sorted(METHODS)} with ε and δ")
    import numpy as np  # noqa: PLC0415 - after limit_threads
    import torch  # noqa: PLC0415

    torch.set_num_threads(spec.threads)
    torch.manual_seed(spec.seed)
    np.random.seed(spec.seed)
    if spec.method in ("mst", "aim") and spec.params.get("discretise", True):
        return _run_coded(spec, np.random.default_rng(spec.seed))
    return _run_continuous(spec)


def _fitted(spec: Spec, *, epsilon: float, preprocessor_eps: float, rows: int) -> Any:
    from snsynth import Synthesizer  # type: ignore[import-not-found, unused-ignore]  # noqa: PLC0415

    options = _options(spec, rows=rows, preprocessor_eps=preprocessor_eps)
    return Synthesizer.create(METHODS[spec.method], epsilon=epsilon, delta=spec.delta, **options)


def _run_coded(spec: Spec, rng: Any) -> Result:
    """MST/AIM on the codes of :func:`.codes.encode_table`, decoded back to values."""
    assert spec.epsilon is not None  # checked by run
    frame = load_table(spec.train_path, spec.columns)
    share = float(spec.params.get("preprocessor_share", PREPROCESSOR_SHARE))
    chatter = io.StringIO()  # smartnoise prints progress; keep the worker's log short
    with stopwatch() as fit_s, contextlib.redirect_stdout(chatter):
        encoded = encode_table(
            frame,
            spec.columns,
            declared=spec.public_metadata,
            epsilon=spec.epsilon,
            share=share,
            rng=rng,
        )
        remaining = spec.epsilon - encoded.bounds_epsilon
        synth = _fitted(spec, epsilon=remaining, preprocessor_eps=0.0, rows=len(frame))
        codes = encoded.frame
        synth.fit(codes, categorical_columns=list(codes.columns), preprocessor_eps=0.0)
    synth.synthesizer = IIDSampling(synth.synthesizer)
    with stopwatch() as sample_s, contextlib.redirect_stdout(chatter):
        synthetic = decode_table(synth.sample(spec.sample_rows), encoded, rng)
    save_synthetic(spec, synthetic)
    notes = [
        f"every column as categorical codes; bounds ε {encoded.bounds_epsilon:g} of the total "
        f"{spec.epsilon:g} ({len(spec.public_metadata)} column(s) declared)",
        "rows drawn i.i.d. from the fitted model (mbi method='sample')",
        "codes: " + "; ".join(encoded.notes),
    ]
    return Result(
        fit_s=fit_s[0],
        sample_s=sample_s[0],
        rows=len(synthetic),
        versions=package_versions("smartnoise-synth", "mbi", "opacus", "torch", "pandas"),
        notes=notes,
    )


def _run_continuous(spec: Spec) -> Result:
    """Numeric columns as smartnoise's ``continuous_columns`` (DP-CTGAN; the old MST/AIM way)."""
    assert spec.epsilon is not None  # checked by run
    frame = load_table(spec.train_path, spec.columns)
    nullable = bool(frame.isna().any().any())
    share = float(spec.params.get("preprocessor_share", PREPROCESSOR_SHARE))
    preprocessor_eps = share * spec.epsilon if spec.numeric else 0.0
    synth = _fitted(spec, epsilon=spec.epsilon, preprocessor_eps=preprocessor_eps, rows=len(frame))
    chatter = io.StringIO()
    with stopwatch() as fit_s, contextlib.redirect_stdout(chatter):
        synth.fit(
            frame,
            categorical_columns=spec.categorical,
            continuous_columns=spec.numeric,
            preprocessor_eps=preprocessor_eps,
            nullable=nullable,
        )
    notes = [f"preprocessor ε {preprocessor_eps:g} of the total {spec.epsilon:g}"]
    spent = None
    if spec.method == "dpctgan":
        # Its accountant's value where training stopped (it checks before each epoch).
        spent = preprocessor_eps + float(synth.epsilon_list[-1]) if synth.epsilon_list else None
        notes.append(f"noise multiplier {synth.sigma:.3g}, {len(synth.epsilon_list)} epoch checks")
    else:
        synth.synthesizer = IIDSampling(synth.synthesizer)
        notes.append("numeric columns as smartnoise's continuous_columns (BinTransformer)")
        notes.append("rows drawn i.i.d. from the fitted model (mbi method='sample')")
    with stopwatch() as sample_s, contextlib.redirect_stdout(chatter):
        synthetic = synth.sample(spec.sample_rows)
    save_synthetic(spec, synthetic)
    return Result(
        fit_s=fit_s[0],
        sample_s=sample_s[0],
        rows=len(synthetic),
        epsilon_spent=spent,
        versions=package_versions("smartnoise-synth", "mbi", "opacus", "torch", "pandas"),
        notes=notes,
    )


if __name__ == "__main__":
    worker_main(run)
