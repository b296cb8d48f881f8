"""Rectified-flow sampling and inversion as small pure functions (k-diffusion style).

Convention (SD3, Flux and the bundled model alike): ``z_t = (1 - t) z_0 + t eps`` and the model
predicts ``v = eps - z_0``, so ``dz/dt = v`` and one Euler step is ``z' = z + (t' - t) v(z, t)``.
Sampling integrates from ``t = 1`` down to 0; inversion integrates the same ODE upwards.
"""

from __future__ import annotations

from typing import Callable

import torch

from .backends.base import Backend, PromptEmbedding

VelocityFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (z (B,C,h,w), t (B,)) -> v
StepCallback = Callable[[int, int], None]  # (step index, number of steps)


def guided_velocity(
    backend: Backend,
    cond: PromptEmbedding,
    uncond: PromptEmbedding | None = None,
    guidance: float = 1.0,
) -> VelocityFn:
    """Classifier-free guided velocity ``v_u + g (v_c - v_u)`` as a ``(z, t) -> v`` function.

    With ``guidance == 1`` (or no ``uncond``) it is the plain conditional velocity, one transformer
    evaluation per call; otherwise the two branches run as one batch ``[uncond, cond]`` (as diffusers'
    SD3 pipeline does). ``cond``/``uncond`` are batch-1 or batch-B embeddings.
    """
    if uncond is None or guidance == 1.0:
        def plain(z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            return backend.velocity(z, t, match_batch(cond, z.shape[0]))

        return plain

    def guided(z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        batch = z.shape[0]
        both = PromptEmbedding.cat([match_batch(uncond, batch), match_batch(cond, batch)])
        v_uncond, v_cond = backend.velocity(torch.cat([z, z]), torch.cat([t, t]), both).chunk(2)
        return v_uncond + guidance * (v_cond - v_uncond)

    return guided


def match_batch(embedding: PromptEmbedding, batch: int) -> PromptEmbedding:
    if embedding.batch_size == batch:
        return embedding
    if embedding.batch_size != 1:
        raise ValueError(f"embedding batch {embedding.batch_size} does not match latent batch {batch}")
    return embedding.repeat(batch)


def integrate(
    velocity_fn: VelocityFn,
    z: torch.Tensor,
    times: torch.Tensor,
    callback: StepCallback | None = None,
) -> torch.Tensor:
    """Euler integration of ``dz/dt = v(z, t)`` along ``times`` (decreasing: sampling; increasing:
    explicit inversion). Each step is ``z <- z + (t_{i+1} - t_i) v(z, t_i)``, computed in float32 as
    diffusers' ``FlowMatchEulerDiscreteScheduler.step`` does.
    """
    n = len(times) - 1
    for i in range(n):
        t = times[i].to(z.device)
        v = velocity_fn(z, t.expand(z.shape[0]).float())
        z = (z.float() + (times[i + 1] - times[i]).float().item() * v.float()).to(z.dtype)
        if callback is not None:
            callback(i + 1, n)
    return z


def invert(
    velocity_fn: VelocityFn,
    z0: torch.Tensor,
    times: torch.Tensor,
    fixed_point_iters: int = 0,
    callback: StepCallback | None = None,
) -> torch.Tensor:
    """Invert a clean latent ``z0`` to noise level ``times[-1]`` along the ODE (``times`` increasing).

    Each step seeks ``z'`` at ``t'`` whose Euler *sampling* step returns to ``z``:
    ``z = z' + (t - t') v(z', t')``. ``fixed_point_iters = 0`` is the explicit step
    ``z' = z + (t' - t) v(z, t)``; each further iteration refines ``z' <- z + (t' - t) v(z', t')``,
    which makes the inversion exact for :func:`integrate` as it converges (one more evaluation each).
    """
    n = len(times) - 1
    z = z0
    for i in range(n):
        t, t_next = times[i].to(z.device), times[i + 1].to(z.device)
        dt = (t_next - t).float().item()
        z_next = (z.float() + dt * velocity_fn(z, t.expand(z.shape[0]).float()).float()).to(z.dtype)
        for _ in range(fixed_point_iters):
            v = velocity_fn(z_next, t_next.expand(z.shape[0]).float())
            z_next = (z.float() + dt * v.float()).to(z.dtype)
        z = z_next
        if callback is not None:
            callback(i + 1, n)
    return z


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
