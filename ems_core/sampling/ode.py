"""The rectified-flow ODE: one Euler step, integration and inversion, as small pure functions.

Convention (SD3, Flux and the bundled model alike): ``z_t = (1 - t) z_0 + t eps`` and the model
predicts ``v = eps - z_0``, so ``dz/dt = v`` and one Euler step is ``z' = z + (t' - t) v(z, t)``.
Sampling integrates from ``t = 1`` down to 0; inversion integrates the same ODE upwards.
Nothing here disables gradients: callers decide (``torch.no_grad()`` or not).
"""

from __future__ import annotations

from typing import Callable

import torch

__all__ = ["VelocityFn", "StepCallback", "euler_step", "integrate", "invert", "posterior_mean"]

VelocityFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (z (B,C,h,w), t (B,)) -> v
StepCallback = Callable[[int, int], None]  # (step index, number of steps)


def euler_step(z: torch.Tensor, v: torch.Tensor, dt: float) -> torch.Tensor:
    """``z + dt v``, computed in float32 as diffusers' ``FlowMatchEulerDiscreteScheduler.step`` does."""
    return (z.float() + dt * v.float()).to(z.dtype)


def posterior_mean(z_t: torch.Tensor, t: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """The posterior-mean predictor ``x0_hat(z_t) = z_t - t v(z_t, t)`` (LOCO's PMP for a flow model);
    ``t`` is ``(B,)``."""
    return z_t - t.reshape(-1, *([1] * (z_t.dim() - 1))).to(z_t.dtype) * v


def integrate(
    velocity_fn: VelocityFn,
    z: torch.Tensor,
    times: torch.Tensor,
    callback: StepCallback | None = None,
) -> torch.Tensor:
    """Euler integration of ``dz/dt = v(z, t)`` along ``times`` (decreasing: sampling; increasing:
    explicit inversion): ``z <- z + (t_{i+1} - t_i) v(z, t_i)``."""
    n = len(times) - 1
    for i in range(n):
        t = times[i].to(z.device)
        z = euler_step(z, velocity_fn(z, t.expand(z.shape[0]).float()), (times[i + 1] - times[i]).float().item())
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
        z_next = euler_step(z, velocity_fn(z, t.expand(z.shape[0]).float()), dt)
        for _ in range(fixed_point_iters):
            z_next = euler_step(z, velocity_fn(z_next, t_next.expand(z.shape[0]).float()), dt)
        z = z_next
        if callback is not None:
            callback(i + 1, n)
    return z
