"""Each training method's hyper-parameters: one frozen pydantic model per method.

The gateway validates a request's ``params`` with these models before anything is queued, and the
trainer's synthesizers parse the same models when they train, so both answer alike. Every model
refuses unknown keys, strict-types its fields (``"100"`` or ``true`` is not an integer) and
refuses non-finite numbers. Checks that need the request's context (DP or not, the training row
count) live in :meth:`MethodParams.problems`.

Upper bounds are resource guards, far above what any useful training asks for: a request for a
billion epochs or a layer of a billion units is refused here rather than tying up a worker.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Device = Literal["auto", "cpu", "cuda"]
#: A hidden layer's width.
LayerWidth = Annotated[int, Field(ge=1, le=8192)]
#: Hidden layers of a network: at most 8, as a JSON array.
Layers = Annotated[tuple[LayerWidth, ...], Field(min_length=1, max_length=8)]


class MethodParams(BaseModel):
    """Base of the params models: frozen, unknown keys refused, strict types, finite numbers."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False)

    def problems(self, *, private: bool, n_rows: int | None) -> list[str]:
        """Reasons these settings cannot train this request (empty when fine).

        Args:
            private: whether the training is differentially private.
            n_rows: the dataset's training rows (None when not known yet).

        Returns:
            Every reason, in plain words naming the parameter.
        """
        del private, n_rows
        return []

    def to_state(self) -> dict[str, Any]:
        """Plain-python form for checkpoints and saved models (tuples stay tuples)."""
        return self.model_dump()


class CTGANParams(MethodParams):
    """Settings of ``dp-ctgan``; defaults fit ε≈1 on ~25k rows in minutes on 2 CPU cores.

    ``pac=None`` means 10 without DP (CTGAN's PacGAN default) and 1 under DP: a pack of rows
    cannot be the privacy unit (one row may change two packs).
    """

    epochs: int = Field(default=30, ge=1, le=10_000)
    batch_size: int = Field(default=500, ge=2, le=1_000_000)
    pac: int | None = Field(default=None, ge=1, le=64)
    embedding_dim: int = Field(default=128, ge=1, le=4096)
    generator_dims: Layers = (256, 256)
    discriminator_dims: Layers = (256, 256)
    generator_lr: float = Field(default=2e-4, gt=0.0, le=1.0)
    discriminator_lr: float = Field(default=2e-4, gt=0.0, le=1.0)
    weight_decay: float = Field(default=1e-6, ge=0.0, le=1.0)
    n_modes: int = Field(default=10, ge=1, le=100)
    numeric_modes: Literal["dp_quantile", "uniform"] = "dp_quantile"
    #: Progress leaves the trainer only after a checkpoint (see the trainer's ctgan_training).
    checkpoint_every: int = Field(default=1, ge=1, le=10_000)
    device: Device = "auto"
    #: Sampling: calibrate to the released DP marginals (the trainer's calibration module).
    match_marginals: bool = True

    @field_validator("generator_dims", "discriminator_dims", mode="before")
    @classmethod
    def _array_as_tuple(cls, value: object) -> object:
        # JSON has arrays, not tuples; a saved model's state has tuples.
        return tuple(value) if isinstance(value, list) else value

    def resolved_pac(self, *, private: bool) -> int:
        """The pack size actually used."""
        if self.pac is not None:
            return self.pac
        return 1 if private else 10

    def problems(self, *, private: bool, n_rows: int | None) -> list[str]:
        """Pack size and batch size against the privacy mode and the row count."""
        out: list[str] = []
        pac = self.resolved_pac(private=private)
        if private and pac != 1:
            out.append(
                "params.pac must be 1 under DP: a pack of rows cannot be the privacy unit "
                "(one row may change two packs); PacGAN is used only without DP"
            )
        if self.batch_size % pac:
            out.append(f"params.batch_size must be a multiple of pac = {pac}")
        if n_rows is not None and self.batch_size > n_rows:
            out.append(
                f"params.batch_size = {self.batch_size} exceeds the dataset's {n_rows} training "
                "rows"
            )
        return out


class CTGANPeerParams(MethodParams):
    """Settings of ``ctgan``, the SDV package's CTGAN (non-DP peer), passed to it as they are."""

    epochs: int = Field(default=300, ge=1, le=10_000)
    batch_size: int = Field(default=500, ge=2, le=1_000_000)
    pac: int = Field(default=10, ge=1, le=64)
    embedding_dim: int = Field(default=128, ge=1, le=4096)
    generator_dim: Layers = (256, 256)
    discriminator_dim: Layers = (256, 256)

    @field_validator("generator_dim", "discriminator_dim", mode="before")
    @classmethod
    def _array_as_tuple(cls, value: object) -> object:
        return tuple(value) if isinstance(value, list) else value

    def problems(self, *, private: bool, n_rows: int | None) -> list[str]:
        """The package needs batches in whole packs and no larger than the table."""
        del private
        out: list[str] = []
        if self.batch_size % 2 or self.batch_size % self.pac:
            out.append(f"params.batch_size must be even and a multiple of pac = {self.pac}")
        if n_rows is not None and self.batch_size > n_rows:
            out.append(
                f"params.batch_size = {self.batch_size} exceeds the dataset's {n_rows} training "
                "rows"
            )
        return out


class MarginalParams(MethodParams):
    """Settings shared by the marginal synthesizers (``aim``, ``mst``).

    Attributes:
        numeric_bins: Target number of bins of a numeric/datetime column in the model (an atom
            heavier than ``1/numeric_bins`` of the rows gets a bin of its own on top).
        final_iters: Most mirror-descent iterations of the final estimation.
        checkpoint_every: Rounds between checkpoints.
        device: Accepted for a uniform request shape; the marginal methods run on the CPU
            (numpy), whatever it says.
    """

    numeric_bins: int = Field(default=16, ge=1, le=1024)
    final_iters: int = Field(default=300, ge=1, le=100_000)
    checkpoint_every: int = Field(default=1, ge=1, le=10_000)
    device: Device = "auto"


class AIMParams(MarginalParams):
    """Settings of ``aim`` (McKenna et al. 2022).

    Attributes:
        degree: The workload is every marginal of up to this many columns; the candidates are
            its downward closure, weighted by their overlap with the workload.
        max_workload: Most workload marginals of the top degree (a seeded, data-independent
            subset beyond it, for wide tables).
        max_model_cells: AIM's model-size limit, in cells of the junction tree's tables; a round
            may only pick a marginal that keeps the model under ``max_model_cells`` times the
            share of the budget spent so far.
        rounds: AIM's ``T``, the round count that sets the initial per-round budget (default
            ``4·columns``; the paper's ``16·columns`` left each measurement noisier and scored
            lower on `make bench-peers` at ε=1); annealing adjusts it as the run goes.
        round_iters: Most mirror-descent iterations after each round (warm-started).
        selection_rows: Rows drawn from the current model to estimate the marginals that no
            clique of its tree holds (default: the table's row count).
        focus: A column whose workload marginals weigh ``focus_weight`` times the others; the
            trainer sets it to the dataset's declared target column unless the request does.
            A name that is not a modelled column focuses on nothing.
        focus_weight: That weight (≥ 1; 1 treats every column alike).
    """

    degree: int = Field(default=3, ge=1, le=6)
    max_workload: int = Field(default=1000, ge=1, le=1_000_000)
    max_model_cells: int = Field(default=500_000, ge=1, le=1_000_000_000)
    rounds: int | None = Field(default=None, ge=1, le=1_000_000)
    round_iters: int = Field(default=50, ge=1, le=100_000)
    selection_rows: int | None = Field(default=None, ge=1, le=100_000_000)
    focus: str | None = Field(default=None, min_length=1, max_length=255)
    focus_weight: float = Field(default=4.0, ge=1.0, le=1_000.0)


class MSTParams(MarginalParams):
    """Settings of ``mst`` (McKenna, Miklau & Sheldon 2021): the shared ones only."""


class AutoParams(MethodParams):
    """Settings of ``auto``: only those it passes on to the method it picks (aim or mst)."""

    focus: str | None = Field(default=None, min_length=1, max_length=255)
    focus_weight: float = Field(default=4.0, ge=1.0, le=1_000.0)
    checkpoint_every: int = Field(default=1, ge=1, le=10_000)
    device: Device = "auto"
