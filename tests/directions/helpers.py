"""Linear maps with known singular values, for known-answer tests."""

from __future__ import annotations

import torch


def linear_map(shape: tuple[int, ...], singular_values: list[float], seed: int = 0) -> torch.Tensor:
    """A float64 ``n x n`` matrix ``A = Q1 diag(s) Q2^T`` (``n = prod(shape)``) whose leading singular values
    are ``singular_values``; the rest decay geometrically from half the last one."""
    n = int(torch.tensor(shape).prod())
    generator = torch.Generator().manual_seed(seed)
    left = torch.linalg.qr(torch.randn(n, n, generator=generator, dtype=torch.float64)).Q
    right = torch.linalg.qr(torch.randn(n, n, generator=generator, dtype=torch.float64)).Q
    tail = [0.5 * singular_values[-1] * 0.8 ** i for i in range(n - len(singular_values))]
    return left @ torch.diag(torch.tensor(singular_values + tail, dtype=torch.float64)) @ right.T


def apply_matrix(matrix: torch.Tensor):
    """``z (B, *shape) -> A z`` row by row."""
    return lambda z: (z.reshape(z.shape[0], -1) @ matrix.T).reshape(z.shape)
