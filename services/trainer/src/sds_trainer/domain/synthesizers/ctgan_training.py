"""The training loop of dp-ctgan: one run, from encoded data to a trained generator.

Kept apart from :mod:`.dp_ctgan` (the protocol surface) so each file stays readable. Every random
draw comes from a seeded generator, and every generator's state goes into the checkpoints, so a
resumed run continues the same random streams and the same privacy accounting.
"""

from __future__ import annotations

import io
import math
import secrets
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped, unused-ignore]
import torch
from opacus.utils.uniform_sampler import UniformWithReplacementSampler
from torch import nn
from torch.nn import functional as F  # noqa: N812 - the torch convention

from sds_common.methods import CTGANParams
from sds_trainer.domain.synthesizers.base import (
    CheckpointFn,
    ColumnSpec,
    EpochReport,
    PreprocessingStep,
    PrivacyBudget,
    ProgressFn,
    StopFn,
)
from sds_trainer.domain.synthesizers.codec import noise_source
from sds_trainer.domain.synthesizers.codec.mechanisms import noise_levels
from sds_trainer.domain.synthesizers.conditional import CondSampler
from sds_trainer.domain.synthesizers.ctgan_modules import (
    Discriminator,
    Generator,
    activate,
    cond_loss,
)
from sds_trainer.domain.synthesizers.dp_training import (
    DPPlan,
    PrivateDiscriminator,
    Release,
    plan_dp_sgd,
    preprocessing_rho,
    release_epsilon,
)
from sds_trainer.domain.synthesizers.errors import InvalidTrainingConfig, TrainingCancelled
from sds_trainer.domain.synthesizers.transformer import DataTransformer, HistogramNoise

#: Checkpoints record how their accountant was seeded (see :func:`_split_budget`).
# v2: the codec's histogram hierarchy (a different preprocessing state and release).
ACCOUNTING = "gaussian-histograms+dp-sgd/one-accountant/v2"


def pick_device(name: str) -> torch.device:
    """CUDA when present (or asked), CPU otherwise."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _generator(seed: int, device: torch.device) -> torch.Generator:
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    return gen


def _secret_generator(device: torch.device) -> torch.Generator:
    """A generator seeded from OS entropy: for the draws that make DP-SGD private."""
    return _generator(secrets.randbits(63), device)


class TrainingRun:
    """Preprocess (unless resumed), build the networks, and train epoch by epoch."""

    def __init__(
        self,
        *,
        data: pd.DataFrame,
        columns: Sequence[ColumnSpec],
        transformer: DataTransformer,
        privacy: PrivacyBudget | None,
        params: CTGANParams,
        device: torch.device,
        seed: int,
        resumed: dict[str, Any] | None,
    ) -> None:
        self.params, self.privacy, self.device, self.resumed = params, privacy, device, resumed
        self.transformer = transformer
        self.pac = params.resolved_pac(private=privacy is not None)
        n_mech, n_delta = transformer.plan(columns)
        budget = _split_budget(privacy, histograms=n_mech, thresholded=n_delta)
        self.budget = budget
        if resumed is not None:
            self.steps_done: list[Any] = list(resumed["preprocessing_steps"])
        else:
            found = transformer.fit(
                data,
                columns=columns,
                noise=budget.noise,
                rng=noise_source() if privacy is not None else np.random.default_rng(seed),
            )
            self.steps_done = [vars(s) for s in found]
        matrix = transformer.transform(data)
        self.data = torch.from_numpy(matrix).to(device)
        self.codes = torch.from_numpy(transformer.discrete_codes(matrix)).to(device)
        self.spans = transformer.spans
        self.discrete = transformer.discrete_columns
        self.conds = CondSampler(self.discrete, device=device)
        in_g = params.embedding_dim + self.conds.dim
        self.generator = Generator(
            in_dim=in_g, dims=params.generator_dims, data_dim=transformer.output_dim
        ).to(device)
        disc = Discriminator(
            in_dim=transformer.output_dim + self.conds.dim,
            dims=params.discriminator_dims,
            pac=self.pac,
        ).to(device)
        betas = (0.5, 0.9)
        self.opt_g = torch.optim.Adam(
            self.generator.parameters(),
            lr=params.generator_lr,
            betas=betas,
            weight_decay=params.weight_decay,
        )
        opt_d = torch.optim.Adam(
            disc.parameters(),
            lr=params.discriminator_lr,
            betas=betas,
            weight_decay=params.weight_decay,
        )
        self.rand = _generator(seed + 1, device)
        # Under DP the Poisson sampling is part of the mechanism (amplification by subsampling
        # assumes nobody can replay it): OS entropy, like the gradient noise below.
        self.sample_gen = (
            _secret_generator(torch.device("cpu"))
            if privacy is not None
            else _generator(seed + 2, torch.device("cpu"))
        )
        n = len(data)
        self.plan: DPPlan | None = None
        self.private: PrivateDiscriminator | None = None
        self.disc = disc
        self.opt_d = opt_d
        if privacy is not None:
            self.plan = plan_dp_sgd(
                n_rows=n,
                batch_size=params.batch_size,
                epochs=params.epochs,
                epsilon=privacy.epsilon,
                delta=budget.accounting_delta,
                accountant=privacy.accountant,
                prior=budget.prior,
            )
            self.private = PrivateDiscriminator(
                disc,
                optimizer=opt_d,
                plan=self.plan,
                max_grad_norm=privacy.max_grad_norm,
                # Real rows expected plus the fixed fake rows: the gradient is a mean over both.
                expected_batch_size=2 * params.batch_size,
                accountant=privacy.accountant,
                noise_generator=_secret_generator(device),
            )
        self.steps_per_epoch = max(n // params.batch_size, 1)
        self.losses: list[dict[str, float]] = []
        self.start_epoch = 0
        if resumed is not None:
            self._restore(resumed)

    # ---- state -----------------------------------------------------------------------------
    def _state(self, epoch: int) -> bytes:
        state: dict[str, Any] = {
            "accounting": ACCOUNTING,
            "epoch": epoch,
            "transformer": self.transformer.to_state(),
            "preprocessing_steps": self.steps_done,
            "generator": self.generator.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "losses": self.losses,
            "torch_rng": torch.get_rng_state(),
            "rand": self.rand.get_state(),
            "sample_gen": self.sample_gen.get_state(),
        }
        if self.private is not None:
            state["private"] = self.private.state()
            state["noise_gen"] = self.private.optimizer.generator.get_state()
        else:
            state["disc"] = self.disc.state_dict()
            state["opt_d"] = self.opt_d.state_dict()
        buf = io.BytesIO()
        torch.save(state, buf)
        return buf.getvalue()

    def _restore(self, state: dict[str, Any]) -> None:
        if state.get("accounting") != ACCOUNTING:
            # An older checkpoint's accountant lacks the preprocessing release: resuming it here
            # would under-report ε.
            raise InvalidTrainingConfig(
                ["the checkpoint predates the current privacy accounting; train again"]
            )
        self.start_epoch = int(state["epoch"])
        self.generator.load_state_dict(state["generator"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.losses = [dict(x) for x in state["losses"]]
        torch.set_rng_state(state["torch_rng"].cpu())
        self.rand.set_state(state["rand"])
        self.sample_gen.set_state(state["sample_gen"].cpu())
        if self.private is not None:
            self.private.restore(state["private"])
            self.private.optimizer.generator.set_state(state["noise_gen"])
        else:
            self.disc.load_state_dict(state["disc"])
            self.opt_d.load_state_dict(state["opt_d"])

    # ---- loop ------------------------------------------------------------------------------
    def _batches(self) -> list[list[int]] | UniformWithReplacementSampler:
        n = self.data.shape[0]
        if self.plan is not None:
            # Opacus' Poisson sampler: each row joins each batch independently with rate q.
            return UniformWithReplacementSampler(
                num_samples=n,
                sample_rate=self.plan.sample_rate,
                generator=self.sample_gen,
                steps=self.steps_per_epoch,
            )
        order = torch.randperm(n, generator=self.sample_gen).tolist()
        size = self.params.batch_size
        return [order[i * size : (i + 1) * size] for i in range(self.steps_per_epoch)]

    def _fake(self, size: int, *, log: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        cond = self.conds.sample(size, self.rand, log=log)
        z = torch.randn(size, self.params.embedding_dim, generator=self.rand, device=self.device)
        raw = self.generator(torch.cat([z, cond], dim=1))
        return raw, activate(raw, self.spans), cond

    def _step(self, rows: list[int]) -> tuple[float, float]:
        size = self.params.batch_size
        idx = torch.tensor(rows, dtype=torch.long, device=self.device)
        real = self.data[idx]
        real_x = torch.cat([real, self.conds.from_rows(self.codes[idx], self.rand)], dim=1)
        with torch.no_grad():
            _, fake, fake_cond = self._fake(size, log=self.private is None)
        x = torch.cat([real_x, torch.cat([fake, fake_cond], dim=1)])
        n_real = real_x.shape[0] // self.pac
        target = torch.cat([x.new_ones(n_real), x.new_zeros(size // self.pac)])
        if self.private is not None:
            loss_d = F.binary_cross_entropy_with_logits(
                self.private.module(x), target, reduction="none"
            )
            self.private.step(loss_d)
        else:
            loss_d = F.binary_cross_entropy_with_logits(self.disc(x), target, reduction="none")
            self.opt_d.zero_grad(set_to_none=True)
            loss_d.mean().backward()  # type: ignore[no-untyped-call, unused-ignore]
            self.opt_d.step()
        with self._frozen_disc() as disc:
            raw, fake, cond = self._fake(size, log=True)
            logits = disc(torch.cat([fake, cond], dim=1))
            # Non-saturating generator loss, plus CTGAN's conditional loss.
            loss_g = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
            loss_g = loss_g + cond_loss(raw, cond, self.discrete)
            self.opt_g.zero_grad(set_to_none=True)
            loss_g.backward()  # type: ignore[no-untyped-call, unused-ignore]
        self.opt_g.step()
        return float(loss_d.detach().mean()), float(loss_g.detach())

    @contextmanager
    def _frozen_disc(self) -> Iterator[nn.Module]:
        if self.private is not None:
            with self.private.frozen() as module:
                yield module
            return
        self.disc.requires_grad_(False)
        try:
            yield self.disc
        finally:
            self.disc.requires_grad_(True)

    def epsilon_so_far(self) -> float:
        """The accountant's ε (preprocessing and the steps so far) at the accounting δ."""
        if self.private is None:
            return 0.0
        return self.private.epsilon(self.budget.accounting_delta)

    def train(
        self,
        *,
        progress: ProgressFn | None,
        should_stop: StopFn | None,
        checkpoint: CheckpointFn | None,
    ) -> dict[str, Any]:
        """Run the remaining epochs; return the :class:`FitReport` fields but ``seconds``."""
        total = self.params.epochs
        self.generator.train()
        self.disc.train()
        for epoch in range(self.start_epoch + 1, total + 1):
            d_sum = g_sum = 0.0
            for rows in self._batches():
                # Polled before every step, not every epoch: an epoch of a large table takes
                # minutes, a step well under a second. Stopping here leaves the accountant with
                # exactly the steps taken (it records each one), and the last checkpoint, which
                # a resumed run continues from, untouched.
                if should_stop is not None and should_stop():
                    raise TrainingCancelled(epoch=epoch - 1, epsilon_spent=self.epsilon_so_far())
                d, g = self._step(rows)
                d_sum, g_sum = d_sum + d, g_sum + g
            losses = {"discriminator": d_sum / self.steps_per_epoch}
            losses["generator"] = g_sum / self.steps_per_epoch
            self.losses.append(losses)
            # Checkpoint before announcing: whatever leaves the trainer about an epoch must come
            # from a state a resumed run continues from, never from steps a resume would redo
            # with the accountant rolled back.
            if checkpoint is not None and (
                epoch % self.params.checkpoint_every == 0 or epoch == total
            ):
                checkpoint(epoch, self._state(epoch))
            if progress is not None:
                progress(EpochReport(epoch, total, self.epsilon_so_far(), dict(losses)))
        return self._report()

    def _report(self) -> dict[str, Any]:
        private, privacy, budget = self.private, self.privacy, self.budget
        total = private.epsilon(budget.accounting_delta) if private is not None else None
        return {
            "epsilon": total,
            "delta": privacy.delta if privacy else None,
            "preprocessing_epsilon": budget.noise.epsilon if budget.noise else 0.0,
            "training_epsilon": None
            if total is None
            else total - (budget.noise.epsilon if budget.noise else 0.0),
            "accountant": privacy.accountant if privacy else None,
            "noise_multiplier": self.plan.noise_multiplier if self.plan else None,
            "sample_rate": self.plan.sample_rate
            if self.plan
            else self.params.batch_size / self.data.shape[0],
            "steps": self.steps_per_epoch * self.params.epochs,
            "epochs": self.params.epochs,
            "max_grad_norm": privacy.max_grad_norm if privacy else None,
            "batch_size": self.params.batch_size,
            "device": str(self.device),
            "losses": list(self.losses),
            "preprocessing_steps": [PreprocessingStep(**s) for s in self.steps_done],
            "preprocessing_noise_multiplier": budget.prior[0][0] if budget.prior else None,
            "threshold_delta": budget.noise.threshold_delta if budget.noise else 0.0,
            "columns": self.transformer.codec.summary() if self.transformer.codec else [],
        }


@dataclass(frozen=True)
class _Budget:
    """How one fit spends its (ε, δ): histogram noise, prior releases, accounting δ."""

    noise: HistogramNoise | None
    prior: tuple[Release, ...]
    accounting_delta: float


def _split_budget(privacy: PrivacyBudget | None, *, histograms: int, thresholded: int) -> _Budget:
    """Noise of the preprocessing histograms and the δ left for the RDP → (ε, δ) conversion.

    The histograms are one Gaussian release composed with DP-SGD in the same accountant (see
    :mod:`.codec.mechanisms`); the thresholds add δ₀ = share·δ outside it.
    """
    if privacy is None:
        return _Budget(None, (), 0.0)
    if histograms == 0:
        return _Budget(None, (), privacy.delta)
    share = privacy.preprocessing_epsilon_share
    threshold_delta = privacy.delta * share if thresholded else 0.0
    delta = privacy.delta - threshold_delta
    rho = preprocessing_rho(epsilon=privacy.epsilon, delta=delta, share=share)
    levels = noise_levels(rho=rho, histograms=histograms, thresholded=thresholded)
    prior: tuple[Release, ...] = ((1.0 / math.sqrt(2.0 * rho), 1.0, 1),)
    with warnings.catch_warnings():
        # Alone, this low-noise-per-unit Gaussian would want Rényi orders above Opacus' largest,
        # so the standalone ε (reported only) is a loose upper bound; the total ε comes from the
        # composed curve with DP-SGD, whose optimal order lies inside the range.
        warnings.filterwarnings("ignore", message="Optimal order is the largest alpha")
        alone = release_epsilon(prior, delta=delta, accountant=privacy.accountant)
    return _Budget(HistogramNoise(levels, threshold_delta, alone), prior, delta)
