"""Torch building blocks of our CTGAN: generator, PacGAN discriminator, output activations.

Same architecture as Xu et al. (2019): the generator stacks residual blocks (Linear → BatchNorm →
ReLU, concatenated with their input); the discriminator is an MLP (Linear → LeakyReLU → Dropout)
over ``pac`` rows packed side by side (PacGAN). The generator's BatchNorm is fine under DP because
the generator never sees real data; the discriminator has no BatchNorm (it would mix rows).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812 - the torch convention

from sds_trainer.domain.synthesizers.transformer import DiscreteColumn, Span


class Residual(nn.Module):
    """One generator block: its output is concatenated to its input."""

    def __init__(self, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.fc = nn.Linear(in_dim, out_dim)
        self.bn = nn.BatchNorm1d(out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the block."""
        return torch.cat([F.relu(self.bn(self.fc(x))), x], dim=1)


class Generator(nn.Module):
    """Maps ``[noise, cond]`` to raw (pre-activation) encoded rows."""

    def __init__(self, *, in_dim: int, dims: Sequence[int], data_dim: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = in_dim
        for d in dims:
            layers.append(Residual(width, d))
            width += d
        layers.append(nn.Linear(width, data_dim))
        self.seq = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Raw outputs; see :func:`activate`."""
        out: torch.Tensor = self.seq(x)
        return out


class Discriminator(nn.Module):
    """PacGAN critic: scores packs of ``pac`` consecutive rows (one logit per pack)."""

    def __init__(self, *, in_dim: int, dims: Sequence[int], pac: int) -> None:
        super().__init__()
        self.pac = pac
        layers: list[nn.Module] = []
        width = in_dim * pac
        for d in dims:
            layers += [nn.Linear(width, d), nn.LeakyReLU(0.2), nn.Dropout(0.5)]
            width = d
        layers.append(nn.Linear(width, 1))
        self.seq = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of shape ``(rows // pac,)``."""
        out: torch.Tensor = self.seq(x.reshape(-1, x.shape[1] * self.pac))
        return out.squeeze(1)


def activate(raw: torch.Tensor, spans: Sequence[Span], *, tau: float = 0.2) -> torch.Tensor:
    """tanh on continuous spans, Gumbel-softmax (τ=0.2, as CTGAN) on discrete spans."""
    parts = []
    for s in spans:
        chunk = raw[:, s.start : s.start + s.dim]
        if s.activation == "tanh":
            parts.append(torch.tanh(chunk))
        else:
            parts.append(F.gumbel_softmax(chunk, tau=tau))
    return torch.cat(parts, dim=1)


def sample_activate(
    raw: torch.Tensor, spans: Sequence[Span], *, generator: torch.Generator
) -> torch.Tensor:
    """Sampling-time activation: tanh, and Gumbel-max perturbed logits on discrete spans.

    ``argmax(logits + Gumbel)`` is a draw from ``softmax(logits)``, the same law as the argmax of
    a Gumbel-softmax, without the softmax; the decoder only takes argmaxes of discrete spans.
    """
    out = raw.clone()
    uniform = torch.rand(raw.shape, generator=generator, device=raw.device).clamp_(1e-10, 1.0)
    gumbel = -torch.log(-torch.log(uniform))
    for s in spans:
        sl = slice(s.start, s.start + s.dim)
        out[:, sl] = (
            torch.tanh(raw[:, sl]) if s.activation == "tanh" else raw[:, sl] + gumbel[:, sl]
        )
    return out


def cond_loss(
    raw: torch.Tensor, cond: torch.Tensor, discrete: Sequence[DiscreteColumn]
) -> torch.Tensor:
    """CTGAN's conditional loss: cross-entropy of the generated category of the chosen column.

    ``cond`` is one-hot over the concatenated discrete columns with exactly one column set per
    row; columns not chosen in a row contribute nothing.
    """
    total = raw.new_zeros(raw.shape[0])
    for dc in discrete:
        target = cond[:, dc.cond_start : dc.cond_start + dc.dim]
        chosen = target.sum(dim=1)
        logits = raw[:, dc.data_start : dc.data_start + dc.dim]
        total = total + F.cross_entropy(logits, target.argmax(dim=1), reduction="none") * chosen
    return total.mean()
