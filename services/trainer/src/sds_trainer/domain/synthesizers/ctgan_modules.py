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

    def frozen(self) -> FrozenGenerator:
        """The same function for sampling: BatchNorm folded in, no concatenations.

        Uses the running BatchNorm statistics, i.e. what :meth:`forward` computes in eval mode.
        """
        blocks = []
        for layer in self.seq:
            if isinstance(layer, Residual):
                bn = layer.bn
                assert bn.running_var is not None
                assert bn.running_mean is not None
                scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
                weight = layer.fc.weight * scale[:, None]
                bias = (layer.fc.bias - bn.running_mean) * scale + bn.bias
                blocks.append((weight.detach().T.contiguous(), bias.detach().clone()))
        last = self.seq[-1]
        assert isinstance(last, nn.Linear)
        return FrozenGenerator(
            blocks=blocks,
            out=(last.weight.detach().T.contiguous(), last.bias.detach().clone()),
        )


class FrozenGenerator:
    """An eval-mode :class:`Generator` as plain matrices, for fast sampling.

    A residual block's output is ``[relu(bn(fc(x))), x]``, so the input of block ``k`` is
    ``[h_{k-1}, …, h_1, x]``. Concatenating copies the whole growing row at every block; here
    each linear layer's weight is split by those parts instead and the products are accumulated
    (``addmm``), which computes the same sums with no copies. BatchNorm at inference is an
    affine map, folded into the preceding linear layer.
    """

    def __init__(
        self,
        *,
        blocks: Sequence[tuple[torch.Tensor, torch.Tensor]],
        out: tuple[torch.Tensor, torch.Tensor],
    ) -> None:
        # Each weight is (in, out) with rows ordered as its input: [h_{k-1}, ..., h_1, x].
        sizes = [w.shape[1] for w, _ in blocks]
        self._in_dim = out[0].shape[0] - sum(sizes)
        self._layers: list[tuple[list[torch.Tensor], torch.Tensor]] = []
        for k, (weight, bias) in enumerate([*blocks, out]):
            parts = list(torch.split(weight, [*sizes[:k][::-1], self._in_dim]))
            # Stored in the order the inputs are produced: x, h_1, ..., h_{k-1}.
            self._layers.append(([p.contiguous() for p in parts[::-1]], bias))

    def __call__(self, *x: torch.Tensor) -> torch.Tensor:
        """Raw outputs for input rows ``torch.cat(x, dim=1)`` (``[noise, cond]``).

        The input may come in column blocks (noise and condition apart) so that it is never
        concatenated either: the first weight rows are split the same way.
        """
        widths = [part.shape[1] for part in x]
        if sum(widths) != self._in_dim:
            raise ValueError(f"input width {sum(widths)} != {self._in_dim}")
        inputs: list[torch.Tensor] = []
        result = x[0]
        for index, (parts, bias) in enumerate(self._layers):
            first = torch.split(parts[0], widths)
            result = torch.addmm(bias, x[0], first[0])
            for source, part in zip([*x[1:], *inputs], [*first[1:], *parts[1:]], strict=True):
                result.addmm_(source, part)
            if index < len(self._layers) - 1:
                inputs.append(result.relu_())
        return result


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
    """Sampling-time activation, in place: tanh, and Gumbel-max perturbed logits on discrete spans.

    ``argmax(logits + Gumbel)`` is a draw from ``softmax(logits)``, the same law as the argmax of
    a Gumbel-softmax, without the softmax; the decoder only takes argmaxes of discrete spans.
    Gumbel noise is drawn for the discrete spans only, in one draw over their columns.
    """
    discrete = [s for s in spans if s.activation != "tanh"]
    for s in spans:
        if s.activation == "tanh":
            raw[:, s.start : s.start + s.dim].tanh_()
    width = sum(s.dim for s in discrete)
    if not width:
        return raw
    gumbel = torch.rand((raw.shape[0], width), generator=generator, device=raw.device)
    gumbel.clamp_(1e-10, 1.0).log_().neg_().log_().neg_()
    at = 0
    for s in discrete:
        raw[:, s.start : s.start + s.dim] += gumbel[:, at : at + s.dim]
        at += s.dim
    return raw


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
