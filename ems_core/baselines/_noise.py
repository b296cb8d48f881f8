"""Seeded noise shared by a batch (every image of a sweep sees the same draw)."""

from __future__ import annotations

import torch


def shared_noise(like: torch.Tensor, batch: int, generator: torch.Generator) -> torch.Tensor:
    """One draw of Gaussian noise shaped like one row of ``like``, expanded to ``batch`` rows."""
    noise = torch.randn((1, *like.shape[1:]), generator=generator, dtype=torch.float32)
    return noise.to(like.device, like.dtype).expand(batch, *like.shape[1:])
