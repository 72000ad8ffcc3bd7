"""Hyper-parameters of dp-ctgan, parsed from the request's ``params`` mapping."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from sds_trainer.domain.synthesizers.errors import InvalidTrainingConfig


@dataclass(frozen=True)
class CTGANParams:
    """Training settings; defaults fit ε≈1 on ~25k rows in a couple of minutes on 2 CPU cores.

    ``pac=None`` means 10 without DP (CTGAN's PacGAN default) and 1 under DP (see
    :mod:`.dp_training` for why packs cannot be the privacy unit).
    """

    epochs: int = 30
    batch_size: int = 500
    pac: int | None = None
    embedding_dim: int = 128
    generator_dims: tuple[int, ...] = (256, 256)
    discriminator_dims: tuple[int, ...] = (256, 256)
    generator_lr: float = 2e-4
    discriminator_lr: float = 2e-4
    weight_decay: float = 1e-6
    n_modes: int = 10
    numeric_modes: str = "dp_quantile"
    checkpoint_every: int = 1  # see ctgan_training: progress leaves only after a checkpoint
    device: str = "auto"
    match_marginals: bool = (
        True  # sampling: calibrate to the released DP marginals (calibration.py)
    )

    @classmethod
    def parse(cls, params: Mapping[str, Any], *, private: bool, n_rows: int) -> CTGANParams:
        """Build from a mapping, listing every problem at once.

        Raises:
            InvalidTrainingConfig: unknown keys or unusable values.
        """
        known = {f.name for f in fields(cls)}
        reasons = [f"unknown parameter {k!r}" for k in params if k not in known]
        values = {k: v for k, v in params.items() if k in known}
        for key in ("generator_dims", "discriminator_dims"):
            if key in values:
                values[key] = tuple(int(d) for d in values[key])
        try:
            out = cls(**values)
        except TypeError as exc:
            raise InvalidTrainingConfig([*reasons, str(exc)]) from exc
        pac = out.resolved_pac(private=private)
        if out.epochs < 1:
            reasons.append("epochs must be ≥ 1")
        if out.batch_size < 2 or out.batch_size % max(pac, 1):
            reasons.append(f"batch_size must be ≥ 2 and a multiple of pac={pac}")
        if out.batch_size > n_rows:
            reasons.append(f"batch_size {out.batch_size} exceeds the {n_rows} rows")
        if private and pac != 1:
            reasons.append(
                "pac must be 1 under DP: a pack of rows cannot be the privacy unit "
                "(one row may change two packs); PacGAN is used only without DP"
            )
        if pac < 1:
            reasons.append("pac must be ≥ 1")
        if out.numeric_modes not in ("dp_quantile", "uniform"):
            reasons.append("numeric_modes must be 'dp_quantile' or 'uniform'")
        if out.n_modes < 1 or out.checkpoint_every < 1 or out.embedding_dim < 1:
            reasons.append("n_modes, checkpoint_every and embedding_dim must be ≥ 1")
        if out.device not in ("auto", "cpu", "cuda"):
            reasons.append("device must be 'auto', 'cpu' or 'cuda'")
        if reasons:
            raise InvalidTrainingConfig(reasons)
        return out

    def resolved_pac(self, *, private: bool) -> int:
        """The pack size actually used."""
        if self.pac is not None:
            return self.pac
        return 1 if private else 10

    def to_state(self) -> dict[str, Any]:
        """Plain-python form for checkpoints."""
        return asdict(self)
