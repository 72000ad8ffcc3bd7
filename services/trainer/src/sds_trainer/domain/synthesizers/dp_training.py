"""DP-SGD plumbing for the discriminator, on Opacus' ghost-clipping components.

Privacy unit: ONE ROW. Under DP the discriminator runs with ``pac=1``: each real row is its own
"sample" for Opacus, so per-sample clipping bounds one row's influence by ``max_grad_norm`` and
the accountant's (sample_rate, noise_multiplier, steps) describe the mechanism exactly. Packing
real rows (pac > 1) would make a pack the clipped unit: with Poisson sampling, adding one row can
change two packs (the one it joins and the one its displaced neighbour completes), which doubles the
sensitivity and divides the per-step signal by ``pac`` — worse than dropping the packing.

Loss: the standard (non-saturating) GAN loss, binary cross-entropy on logits. CTGAN's WGAN-GP
penalty needs a double backward through the critic's input gradient; Opacus' per-sample grad
samplers (hooks or ghost clipping) only see the first-order backward, so the penalty's parameter
gradients would be neither per-sample nor clipped — a silent privacy leak.

Each step's discriminator batch is the Poisson-sampled real rows plus a FIXED number of fake rows
(``batch_size``). A data-dependent fake count (e.g. matching the realised real batch) would let one
extra real row also add one extra fake row's gradient, doubling the sensitivity. Fake rows come
from the generator (post-processing of earlier releases) and cost nothing, but their gradients are
clipped alongside the real ones, which keeps the code one path.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from opacus.accountants import IAccountant, RDPAccountant, create_accountant
from opacus.grad_sample import GradSampleModuleFastGradientClipping
from opacus.optimizers import DPOptimizerFastGradientClipping
from opacus.utils.fast_gradient_clipping_utils import DPTensorFastGradientClipping
from torch import nn

#: An accountant history entry: (noise multiplier, sample rate, steps), as Opacus stores it.
Release = tuple[float, float, int]

#: Rényi orders of every RDP → (ε, δ) conversion: Opacus' defaults (1.1 to 63), widened down to
#: 1.01 and up to 1024 (10 % apart above 63, which loses at most ~0.1 % of ε to the best order in
#: between; Google's dp-accounting also stops at 1024). With much noise per unit of ε (the first
#: epochs of a run, a large preprocessing noise, a small ε) the best order lies above 63: Opacus
#: then warns and reports a looser bound than the mechanism has (0.146 instead of 0.056 for 50
#: steps at q = 0.02, noise 10, δ = 1e-6). A superset of the default grid can only lower the minimum
#: taken over it, so no reported ε grows (``tests/unit/trainer/test_rdp_orders.py``).
RDP_ORDERS: tuple[float, ...] = (
    *(1 + x / 100 for x in range(1, 10)),
    *RDPAccountant.DEFAULT_ALPHAS,
    *(round(64 * 1.1**k) for k in range(1, 30)),
    1024,
)


@dataclass(frozen=True)
class DPPlan:
    """The DP-SGD schedule decided before training.

    ``prior`` holds the releases made before training (the preprocessing's Gaussian histograms,
    as one step at sample rate 1); the accountant starts from them, so every ε it reports is the
    whole release's.
    """

    noise_multiplier: float
    sample_rate: float
    steps_per_epoch: int
    epochs: int
    prior: tuple[Release, ...] = ()

    @property
    def steps(self) -> int:
        """Total optimiser steps."""
        return self.steps_per_epoch * self.epochs


def zcdp_budget(*, epsilon: float, delta: float) -> float:
    """The rho whose zCDP guarantee converts to exactly (ε, δ): ``ε = rho + 2·√(rho·ln(1/δ))``."""
    log_term = math.log(1.0 / delta)
    return (math.sqrt(epsilon + log_term) - math.sqrt(log_term)) ** 2


def preprocessing_rho(*, epsilon: float, delta: float, share: float) -> float:
    """The zCDP ``rho`` of the preprocessing histograms: ``share`` of the release's budget.

    The split is only a choice of noise: the accounting composes this release with DP-SGD
    exactly, in one accountant, as one Gaussian step of noise multiplier ``1/√(2·rho)`` at
    sample rate 1 (see ``codec.mechanisms.NoiseLevels``).
    """
    return share * zcdp_budget(epsilon=epsilon, delta=delta)


def accountant_epsilon(accountant: IAccountant, *, delta: float) -> float:
    """ε at ``delta`` of what ``accountant`` recorded; RDP converts over :data:`RDP_ORDERS`."""
    if accountant.mechanism() == "rdp":
        return float(accountant.get_epsilon(delta=delta, alphas=list(RDP_ORDERS)))
    return float(accountant.get_epsilon(delta=delta))


def release_epsilon(history: Sequence[Release], *, delta: float, accountant: str) -> float:
    """ε at ``delta`` of the composition of ``history`` (Opacus' accountant of that name)."""
    acc = create_accountant(mechanism=accountant)
    acc.history = list(history)
    return accountant_epsilon(acc, delta=delta)


def plan_dp_sgd(
    *,
    n_rows: int,
    batch_size: int,
    epochs: int,
    epsilon: float,
    delta: float,
    accountant: str,
    prior: Sequence[Release] = (),
) -> DPPlan:
    """Pick the noise so that ``prior`` plus ``epochs`` epochs end at (ε, δ) for this accountant.

    The bisection stops within 0.5 % of ε from below, so the release never overspends.

    Raises:
        ValueError: ``prior`` alone already spends ε.
    """
    sample_rate = batch_size / n_rows
    steps_per_epoch = max(n_rows // batch_size, 1)
    steps = steps_per_epoch * epochs

    def spent(sigma: float) -> float:
        run: Release = (sigma, sample_rate, steps)
        return release_epsilon([*prior, run], delta=delta, accountant=accountant)

    low, high = 0.0, 10.0
    eps_high = spent(high)
    while eps_high > epsilon:
        if high > 1e6:
            raise ValueError("the releases before training already spend the whole ε")
        low, high = high, 2 * high
        eps_high = spent(high)
    while epsilon - eps_high > 0.005 * epsilon:
        mid = (low + high) / 2
        eps_mid = spent(mid)
        if eps_mid <= epsilon:
            high, eps_high = mid, eps_mid
        else:
            low = mid
    return DPPlan(float(high), sample_rate, steps_per_epoch, epochs, tuple(prior))


class PrivateDiscriminator:
    """A discriminator wrapped for ghost clipping, its DP optimiser, and the accountant."""

    def __init__(
        self,
        module: nn.Module,
        *,
        optimizer: torch.optim.Optimizer,
        plan: DPPlan,
        max_grad_norm: float,
        expected_batch_size: int,
        accountant: str,
        noise_generator: torch.Generator,
    ) -> None:
        self.module = GradSampleModuleFastGradientClipping(
            module, max_grad_norm=max_grad_norm, use_ghost_clipping=True, loss_reduction="mean"
        )
        self.optimizer = DPOptimizerFastGradientClipping(
            optimizer,
            noise_multiplier=plan.noise_multiplier,
            max_grad_norm=max_grad_norm,
            expected_batch_size=expected_batch_size,
            loss_reduction="mean",
            generator=noise_generator,
        )
        self.accountant: IAccountant = create_accountant(mechanism=accountant)
        self.accountant.history = list(plan.prior)
        self.optimizer.attach_step_hook(
            self.accountant.get_optimizer_hook_fn(sample_rate=plan.sample_rate)
        )

    def step(self, loss_per_sample: torch.Tensor) -> None:
        """Clip per row, add noise, update, and record the step with the accountant."""
        self.optimizer.zero_grad(set_to_none=True)
        with warnings.catch_warnings():
            # The discriminator's input (real rows, detached fake rows) never requires a
            # gradient, so torch warns that Opacus' full backward hooks fire on module outputs
            # only. Ghost clipping needs exactly that: per-row norms come from the gradients of
            # the layers' outputs and their activations, never from input gradients.
            warnings.filterwarnings(
                "ignore", message="Full backward hook is firing", category=UserWarning
            )
            DPTensorFastGradientClipping(
                self.module, self.optimizer, loss_per_sample, "mean"
            ).backward()
        self.optimizer.step()

    @contextmanager
    def frozen(self) -> Iterator[nn.Module]:
        """For the generator's step (forward AND backward): no per-sample hooks, no weight grads."""
        params = [p for p in self.module.parameters() if p.requires_grad]
        self.module.disable_hooks()
        for p in params:
            p.requires_grad_(False)
        try:
            yield self.module
        finally:
            for p in params:
                p.requires_grad_(True)
            self.module.enable_hooks()

    def epsilon(self, delta: float) -> float:
        """ε spent so far at ``delta``."""
        return accountant_epsilon(self.accountant, delta=delta) if len(self.accountant) else 0.0

    def state(self) -> dict[str, Any]:
        """Checkpointable state: weights, optimiser moments and the accountant's history."""
        return {
            "module": self.module._module.state_dict(),
            "optimizer": self.optimizer.original_optimizer.state_dict(),
            "accountant": dict(self.accountant.state_dict()),
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Load :meth:`state` (weights, optimiser, accountant history)."""
        self.module._module.load_state_dict(state["module"])
        self.optimizer.original_optimizer.load_state_dict(state["optimizer"])
        self.accountant.load_state_dict(state["accountant"])
