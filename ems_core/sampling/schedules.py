"""Noise schedules and seeded noise."""

from __future__ import annotations

import torch

__all__ = ["tail_schedule", "shifted_sigmas", "initial_noise"]


def tail_schedule(sigmas: torch.Tensor, start_time: float) -> torch.Tensor:
    """The part of a decreasing schedule that lies below ``start_time``, starting exactly at it.

    Sampling from an inverted latent at ``t0`` runs ``tail_schedule(sigmas, t0)``; the inversion runs
    the same points reversed, so both traverse one grid.
    """
    if not 0.0 < start_time <= 1.0:
        raise ValueError(f"start time must be in (0, 1], got {start_time}")
    below = sigmas[sigmas < start_time - 1e-6]
    return torch.cat([torch.tensor([start_time], dtype=sigmas.dtype), below])


def shifted_sigmas(num_steps: int, shift: float = 1.0) -> torch.Tensor:
    """Schedule ``t_i`` linear from 1 to ``1/N``, shifted by ``s t / (1 + (s - 1) t)``, then 0.

    Used by the bundled model (diffusers backends take their scheduler's own sigmas instead).
    """
    if num_steps < 1:
        raise ValueError("num_steps must be >= 1")
    t = torch.linspace(1.0, 1.0 / num_steps, num_steps, dtype=torch.float64)
    t = shift * t / (1 + (shift - 1) * t)
    return torch.cat([t, torch.zeros(1, dtype=torch.float64)]).float()


def initial_noise(shape: tuple[int, ...], seed: int, device: torch.device | str = "cpu",
                  dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Gaussian noise from an explicit generator (never the global RNG)."""
    generator = torch.Generator("cpu").manual_seed(int(seed))
    return torch.randn(shape, generator=generator, dtype=torch.float32).to(device=device, dtype=dtype)
