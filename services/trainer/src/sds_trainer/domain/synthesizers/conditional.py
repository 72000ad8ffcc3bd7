"""Conditional vectors of CTGAN, built so the discriminator's real side stays per-row.

CTGAN picks a (column, category) first and then a real row that has it ("training-by-sampling").
That row choice depends on the data and breaks Poisson sampling, whose amplification DP-SGD's
accounting relies on. Here the real rows are Poisson-sampled first and each row's conditional
vector is read off the row itself (a column chosen uniformly, data-independently): a row's
contribution to the discriminator's gradient depends on that row only. Fake rows get vectors drawn
from the DP category frequencies, so real and fake vectors follow the same law and the
discriminator cannot tell them apart by the vector alone. The generator's own step uses CTGAN's
log-frequency training-by-sampling (DP counts too), which oversamples rare categories.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from sds_trainer.domain.synthesizers.transformer import DiscreteColumn, log_frequencies


class CondSampler:
    """Draws one-hot conditional vectors over the discrete columns."""

    def __init__(self, columns: Sequence[DiscreteColumn], *, device: torch.device) -> None:
        self.columns = list(columns)
        self.dim = sum(c.dim for c in self.columns)
        width = max((c.dim for c in self.columns), default=1)
        n = max(len(self.columns), 1)
        freq = torch.zeros(n, width, dtype=torch.float64)
        logf = torch.zeros(n, width, dtype=torch.float64)
        for j, c in enumerate(self.columns):
            f = torch.tensor([max(v, 0.0) for v in c.frequencies], dtype=torch.float64)
            freq[j, : c.dim] = f if f.sum() > 0 else torch.ones(c.dim, dtype=torch.float64)
            logf[j, : c.dim] = torch.tensor(log_frequencies(c.frequencies), dtype=torch.float64)
            if logf[j].sum() == 0:
                logf[j, : c.dim] = 1.0
        self._freq = (freq / freq.sum(dim=1, keepdim=True)).to(device)
        self._logf = (logf / logf.sum(dim=1, keepdim=True)).to(device)
        self._offsets = torch.tensor([c.cond_start for c in self.columns] or [0], device=device)
        self.device = device

    def _one_hot(self, cols: torch.Tensor, cats: torch.Tensor) -> torch.Tensor:
        cond = torch.zeros(cols.shape[0], self.dim, device=self.device)
        if self.dim:
            cond[torch.arange(cols.shape[0], device=self.device), self._offsets[cols] + cats] = 1.0
        return cond

    def _columns(self, n: int, generator: torch.Generator) -> torch.Tensor:
        n_cols = max(len(self.columns), 1)
        return torch.randint(n_cols, (n,), generator=generator, device=self.device)

    def from_rows(self, codes: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Vectors for real rows: a random column each, set to the row's own category."""
        cols = self._columns(codes.shape[0], generator)
        if not self.dim:
            return self._one_hot(cols, cols)
        cats = codes.gather(1, cols.unsqueeze(1)).squeeze(1)
        return self._one_hot(cols, cats)

    def sample(self, n: int, generator: torch.Generator, *, log: bool = False) -> torch.Tensor:
        """Vectors for fake rows: a random column, a category by (log-)frequency."""
        cols = self._columns(n, generator)
        if not self.dim:
            return self._one_hot(cols, cols)
        probs = (self._logf if log else self._freq)[cols]
        cats = torch.multinomial(probs, 1, generator=generator).squeeze(1)
        return self._one_hot(cols, cats)

    def fixed(self, n: int, *, column: int, category: int) -> torch.Tensor:
        """``n`` copies of the vector for one (column, category) condition."""
        cols = torch.full((n,), column, device=self.device)
        return self._one_hot(cols, torch.full((n,), category, device=self.device))
