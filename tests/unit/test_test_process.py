"""The test process itself: what tests/conftest.py keeps out of it."""

from __future__ import annotations

import sys

import torch


def test_building_an_optimizer_does_not_load_triton() -> None:
    # An optimizer imports torch._dynamo, which imports triton when it can; its nanobind module
    # printed a leak report at the end of `make test` (see tests/conftest.py).
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])
    assert "torch._dynamo" in sys.modules
    assert sys.modules.get("triton") is None
