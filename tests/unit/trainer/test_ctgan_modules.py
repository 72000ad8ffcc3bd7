"""The sampling form of the generator computes what the module computes in eval mode."""

from __future__ import annotations

import torch

from sds_trainer.domain.synthesizers.ctgan_modules import Generator


def test_frozen_generator_matches_the_eval_mode_module() -> None:
    torch.manual_seed(0)
    generator = Generator(in_dim=24, dims=(32, 16), data_dim=11)
    # Train-mode passes give the BatchNorm layers non-trivial running statistics.
    for _ in range(5):
        generator(torch.randn(64, 24) * 3 + 1)
    with torch.no_grad():
        for layer in generator.seq:
            bn = getattr(layer, "bn", None)
            if bn is not None:
                bn.weight.uniform_(0.5, 2.0)
                bn.bias.uniform_(-1.0, 1.0)
    generator.eval()
    x = torch.randn(300, 24)
    with torch.inference_mode():
        expected = generator(x)
        got = generator.frozen()(x)
        split = generator.frozen()(x[:, :20], x[:, 20:])
    assert got.shape == expected.shape == (300, 11)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(split, expected, rtol=1e-4, atol=1e-5)
