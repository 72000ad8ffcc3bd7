"""``dp-ctgan``: our CTGAN (Xu et al. 2019) with DP-SGD on the discriminator.

Only the discriminator reads real rows, so only it is trained with DP-SGD (Opacus ghost clipping,
Poisson sampling, RDP or PRV accounting, one row = one privacy unit, see :mod:`.dp_training`). The
generator learns from the discriminator's output on fake rows only, so its weights — and every
sample drawn from them — are post-processing of the discriminator's DP releases.

Privacy of the whole release: the preprocessing's histograms not covered by declared metadata are
one Gaussian release (noise sigma per count, joint L2 sensitivity √d over the d histograms) and the
accountant (RDP or PRV) composes it with every DP-SGD step::

    ε = accountant(Gaussian(sigma/√d), DP-SGD steps) at δ - δ₀
    δ₀ = share·δ (the category thresholds)

sigma takes ``share`` of the zCDP budget rho(ε, δ); DP-SGD's noise multiplier is then chosen so
that the planned steps end at ε. See :mod:`.transformer` and :mod:`.codec`.

Unconditional samples are calibrated to the preprocessing's released marginals (logit offsets
fitted once after training, numeric values mapped onto the released distributions): post-processing
of DP outputs only, see :mod:`.calibration`.

Randomness: every draw that touches the data under DP — the preprocessing's histogram noise,
DP-SGD's Poisson sampling and gradient noise — comes from OS entropy, never from ``seed`` (a
replayable noise stream would void the guarantee). ``seed`` fixes everything else (network
initialisation, fake rows, sampling from the fitted model). A non-private fit is reproducible.
"""

from __future__ import annotations

import io
import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd  # type: ignore[import-untyped, unused-ignore]
import torch

from sds_common.methods import DP_CTGAN, CTGANParams, Method
from sds_trainer.domain.synthesizers.base import (
    CheckpointFn,
    ColumnSpec,
    FitReport,
    PrivacyBudget,
    ProgressFn,
    StopFn,
    validate_columns,
)
from sds_trainer.domain.synthesizers.calibration import calibration_offsets
from sds_trainer.domain.synthesizers.codec import CategoricalDomain
from sds_trainer.domain.synthesizers.conditional import CondSampler
from sds_trainer.domain.synthesizers.ctgan_modules import Generator, sample_activate
from sds_trainer.domain.synthesizers.ctgan_training import TrainingRun, pick_device
from sds_trainer.domain.synthesizers.errors import InvalidTrainingConfig, SamplingError
from sds_trainer.domain.synthesizers.params import parse_params
from sds_trainer.domain.synthesizers.transformer import DataTransformer

_SAMPLE_BATCH = 20_000
#: Rows of the generator's calibration sample: twice the table, within these bounds (the offsets'
#: sampling error is about sqrt(share / rows)).
_CALIBRATION_ROWS = (10_000, 50_000)


class DPCTGANSynthesizer:
    """CTGAN with a DP-SGD discriminator. ``params`` keys: see :class:`CTGANParams`."""

    method: ClassVar[Method] = DP_CTGAN
    name: ClassVar[str] = DP_CTGAN.name
    differentially_private: ClassVar[bool] = DP_CTGAN.differentially_private

    def __init__(self) -> None:
        self._transformer: DataTransformer | None = None
        self._generator: Generator | None = None
        self._params: CTGANParams | None = None
        self._offsets: torch.Tensor | None = None
        self.device = torch.device("cpu")

    def fit(
        self,
        data: pd.DataFrame,
        *,
        columns: Sequence[ColumnSpec],
        privacy: PrivacyBudget | None,
        params: Mapping[str, Any],
        progress: ProgressFn | None = None,
        should_stop: StopFn | None = None,
        checkpoint: CheckpointFn | None = None,
        resume_from: bytes | None = None,
        seed: int = 0,
    ) -> FitReport:
        """Train on ``data``.

        Args:
            data: The sensitive table.
            columns: Column specs; identifier/text columns are dropped.
            privacy: The (ε, δ) target; None trains without DP (PacGAN, exact statistics).
            params: Hyper-parameters, see :class:`CTGANParams`.
            progress: Called after each epoch.
            should_stop: Polled before every step; True raises ``TrainingCancelled``.
            checkpoint: Called with ``(epoch, state)`` every ``checkpoint_every`` epochs.
            resume_from: A checkpoint's state: training continues after its epoch with the same
                preprocessing (no ε spent again) and the accountant's history.
            seed: Seeds every random draw (deterministic on a given device).

        Returns:
            What was spent and done.

        Raises:
            InvalidTrainingConfig: bad specs, budget or params.
            TrainingCancelled: ``should_stop`` returned True.
        """
        start = time.perf_counter()
        kept = validate_columns(data, columns)
        if privacy is not None and privacy.problems():
            raise InvalidTrainingConfig(privacy.problems())
        cfg = parse_params(DP_CTGAN, params, private=privacy is not None, n_rows=len(data))
        assert isinstance(cfg, CTGANParams)
        self.device = pick_device(cfg.device)
        torch.manual_seed(seed)
        saved = (
            torch.load(io.BytesIO(resume_from), weights_only=True, map_location=self.device)
            if resume_from is not None
            else None
        )
        if saved is not None:
            transformer = DataTransformer.from_state(saved["transformer"])
        else:
            transformer = DataTransformer(
                n_modes=cfg.n_modes,
                numeric_modes="uniform" if cfg.numeric_modes == "uniform" else "dp_quantile",
            )
        run = TrainingRun(
            data=data,
            columns=kept,
            transformer=transformer,
            privacy=privacy,
            params=cfg,
            device=self.device,
            seed=seed,
            resumed=saved,
        )
        report = run.train(progress=progress, should_stop=should_stop, checkpoint=checkpoint)
        self._transformer, self._generator, self._params = transformer, run.generator, cfg
        low, high = _CALIBRATION_ROWS
        self._offsets = self._calibrate(rows=min(max(2 * len(data), low), high), seed=seed)
        return FitReport(**{**report, "seconds": time.perf_counter() - start})

    def _calibrate(self, *, rows: int, seed: int) -> torch.Tensor:
        """Logit offsets matching the released marginals on a sample of ``rows`` generated rows.

        Post-processing of the generator and of the DP marginals only (see :mod:`.calibration`).
        """
        transformer, generator, params = self._require_fitted()
        sampler = CondSampler(transformer.discrete_columns, device=self.device)
        gen = torch.Generator(device=self.device)
        gen.manual_seed(seed + 4)
        generator.eval()
        with torch.inference_mode():
            z = torch.randn(rows, params.embedding_dim, generator=gen, device=self.device)
            raw = generator.frozen()(z, sampler.sample(rows, gen))
            logits = sample_activate(raw, transformer.spans, generator=gen).cpu().numpy()
        return torch.from_numpy(calibration_offsets(transformer, logits))

    def _require_fitted(self) -> tuple[DataTransformer, Generator, CTGANParams]:
        if self._transformer is None or self._generator is None or self._params is None:
            raise SamplingError("the model is not fitted")
        return self._transformer, self._generator, self._params

    def _condition(
        self, conditions: Mapping[str, Any] | None, sampler: CondSampler
    ) -> tuple[int, int, str, Any] | None:
        if not conditions:
            return None
        if len(conditions) != 1:
            raise SamplingError("dp-ctgan conditions on exactly one categorical column")
        ((column, value),) = conditions.items()
        for j, dc in enumerate(sampler.columns):
            if dc.name == column:
                domain = next(
                    e
                    for e in self._require_fitted()[0].encodings
                    if isinstance(e, CategoricalDomain) and e.name == column
                )
                code = domain.code_of(value)
                if code is None:
                    raise SamplingError(f"{value!r} is not a released category of {column!r}")
                return j, code, column, value
        raise SamplingError(f"{column!r} is not a categorical column of this model")

    def sample(
        self, n: int, *, seed: int | None = None, conditions: Mapping[str, Any] | None = None
    ) -> pd.DataFrame:
        """Generate ``n`` rows (categorical equality on one column via ``conditions``).

        Raises:
            SamplingError: unfitted model, bad ``n`` or an unsupported condition.
        """
        transformer, generator, params = self._require_fitted()
        if n < 0:
            raise SamplingError("n must be ≥ 0")
        sampler = CondSampler(transformer.discrete_columns, device=self.device)
        cond_spec = self._condition(conditions, sampler)
        gen = torch.Generator(device=self.device)
        gen.manual_seed(int(seed) if seed is not None else int(torch.seed() % 2**63))
        spans = transformer.spans
        # The released marginals are unconditional: a conditioned sample keeps the generator's.
        match = params.match_marginals and cond_spec is None
        offsets = self._offsets.to(self.device) if match and self._offsets is not None else None
        generator.eval()
        chunks = []
        with torch.inference_mode():
            frozen = generator.frozen()
            for lo in range(0, n, _SAMPLE_BATCH):
                size = min(_SAMPLE_BATCH, n - lo)
                z = torch.randn(size, params.embedding_dim, generator=gen, device=self.device)
                if cond_spec is None:
                    cond = sampler.sample(size, gen)
                else:
                    cond = sampler.fixed(size, column=cond_spec[0], category=cond_spec[1])
                raw = frozen(z, cond)
                if offsets is not None:
                    raw += offsets  # calibrated to the DP marginals, see :mod:`.calibration`
                chunks.append(sample_activate(raw, spans, generator=gen).cpu().numpy())
            jitter = int(torch.randint(2**62, (1,), generator=gen)) if match else 0
        matrix = np.concatenate(chunks) if chunks else np.zeros((0, transformer.output_dim))
        frame = transformer.inverse_transform(
            matrix.astype(np.float32), match=np.random.default_rng(jitter) if match else None
        )
        if cond_spec is not None:
            # The generator follows the condition through its conditional loss; the equality is
            # enforced exactly on the conditioned column.
            frame[cond_spec[2]] = pd.Series([cond_spec[3]] * n, dtype=frame[cond_spec[2]].dtype)
        ids = np.random.default_rng(int(torch.randint(2**62, (1,), generator=gen)))
        return transformer.finish(frame, ids)

    def save(self) -> bytes:
        """Serialise transformer + generator (tensors and plain python only)."""
        transformer, generator, params = self._require_fitted()
        buf = io.BytesIO()
        torch.save(
            {
                "transformer": transformer.to_state(),
                "params": params.to_state(),
                "generator": {k: v.cpu() for k, v in generator.state_dict().items()},
                "offsets": self._offsets
                if self._offsets is not None
                else torch.zeros(transformer.output_dim),
            },
            buf,
        )
        return buf.getvalue()

    @classmethod
    def load(cls, data: bytes) -> Self:
        """Rebuild from :meth:`save` (``weights_only=True``: no pickled code runs)."""
        state = torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
        if "codec" not in state.get("transformer", {}):
            raise SamplingError(
                "this dp-ctgan model was saved by an older version of the trainer; "
                "train it again to sample from it"
            )
        out = cls()
        out._params = CTGANParams.model_validate(dict(state["params"]))
        out.device = pick_device(out._params.device)
        out._transformer = DataTransformer.from_state(state["transformer"])
        cond_dim = sum(c.dim for c in out._transformer.discrete_columns)
        out._generator = Generator(
            in_dim=out._params.embedding_dim + cond_dim,
            dims=out._params.generator_dims,
            data_dim=out._transformer.output_dim,
        ).to(out.device)
        out._generator.load_state_dict(state["generator"])
        # Models saved before the calibration have none: their samples are left uncalibrated.
        out._offsets = state.get("offsets")
        return out
