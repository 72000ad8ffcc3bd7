"""Where training runs: CUDA when present, CPU otherwise."""

from __future__ import annotations


def pick_device(requested: str | None = None) -> str:
    """Return ``requested`` if given, else ``"cuda"`` when a GPU is visible, else ``"cpu"``."""
    if requested:
        return requested
    import torch  # noqa: PLC0415 — torch is heavy; import it only where training happens

    return "cuda" if torch.cuda.is_available() else "cpu"
