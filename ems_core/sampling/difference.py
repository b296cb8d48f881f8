"""The difference sampler: EMS's Sample step as coupled source/target paths (FlowEdit's ODE, Kulikov et al.
2024), driven by the manipulated embedding ``e(a)`` and with the source path computed once per image.

For the steps ``t_0 > t_1 > ... > t_n = 0`` below the start time, with seeded noise ``n_i`` per step (its
coarsest part removed: :func:`coarse_free_noise`):

    z_src,i = (1 - t_i) x_src + t_i n_i                      (the source path: no model call)
    u_i     = v_g(z_src,i, t_i, e_src)                        (its guided velocity: cached per image)
    z_tgt,i = z_i + z_src,i - x_src                           (the target path, coupled to the source)
    z_{i+1} = z_i + (t_{i+1} - t_i) (v_g(z_tgt,i, t_i, e(a)) - u_i)

from ``z_0 = x_src``. Only the target term depends on the degrees, so a slider move costs one guided
evaluation per step; at ``e(a) = e_src`` the two velocities are the same evaluation and the source comes back
exactly (degree 0 is the autoencoder's reconstruction). docs/method.md ("The Sample step") measures it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .ode import StepCallback, VelocityFn, euler_step

__all__ = ["SourcePath", "block_average", "coarse_free_noise", "difference_sample", "source_path"]


@dataclass(frozen=True)
class SourcePath:
    """The cached source branch of one image: ``times`` (n + 1,) decreasing to 0, the noisy source latents
    ``noisy`` (n, C, h, w) and their guided velocities ``velocity`` (n, C, h, w)."""

    times: torch.Tensor
    noisy: torch.Tensor
    velocity: torch.Tensor

    @property
    def steps(self) -> int:
        return len(self.times) - 1


def block_average(size: int, grid: int) -> torch.Tensor:
    """``(size, size)`` matrix that replaces each entry of a vector by the mean of its block, the vector cut into
    ``min(grid, size)`` contiguous blocks of (nearly) equal length; a projection."""
    blocks = torch.arange(size) * min(grid, size) // size  # block index of every position
    same = (blocks[:, None] == blocks[None, :]).float()
    return same / same.sum(dim=1, keepdim=True)


def coarse_free_noise(shape: tuple[int, ...], generator: torch.Generator, grid: int) -> torch.Tensor:
    """Standard normal noise ``(n, C, h, w)`` with the mean of every block of a ``grid`` x ``grid`` partition of
    each map removed: ``n - A_h n A_w^T`` (:func:`block_average`). ``grid`` 1 removes each map's mean only; 0
    returns the draw unchanged.

    One draw serves every edit of a session, over a few steps, and its coarsest components (a block mean has sd
    ``grid / sqrt(h w)``) read to the model at ``t0`` like faint shapes and colours of the image, comparable to
    what is left of the source there (``(1 - t0) x``): on the portrait model, with seed 0, every "teal
    background" edit came out blue. Removing them changes the noise's variance by ``grid^2 / (h w)``
    (docs/method.md, "The Sample step": "Noise without its coarsest part").
    """
    noise = torch.randn(shape, generator=generator, dtype=torch.float32)
    if grid == 0:
        return noise
    rows, cols = block_average(shape[-2], grid), block_average(shape[-1], grid)
    return noise - rows @ noise @ cols.T


def source_path(velocity_fn: VelocityFn, x_src: torch.Tensor, times: torch.Tensor, generator: torch.Generator,
                callback: StepCallback | None = None, noise_grid: int = 0) -> SourcePath:
    """The source branch of :func:`difference_sample` for ``x_src`` (1, C, h, w): one :func:`coarse_free_noise`
    draw per step from ``generator`` (on the CPU, so a seed gives the same path on every device; ``noise_grid``
    as there, the session passes ``EditConfig.noise_grid``) and one guided velocity each."""
    steps = len(times) - 1
    if steps < 1:
        raise ValueError("the difference sampler needs at least one step below the start time")
    noise = coarse_free_noise((steps, *x_src.shape[1:]), generator, noise_grid).to(x_src.device, x_src.dtype)
    levels = times[:-1].to(x_src.device, x_src.dtype).view(-1, 1, 1, 1)
    noisy = (1 - levels) * x_src + levels * noise  # (n, C, h, w)
    velocities = []
    for i in range(steps):
        velocities.append(velocity_fn(noisy[i:i + 1], times[i:i + 1].to(x_src.device).float()))
        if callback is not None:
            callback(i + 1, steps)
    return SourcePath(times.detach().cpu(), noisy, torch.cat(velocities))


def difference_sample(velocity_fn: VelocityFn, x_src: torch.Tensor, path: SourcePath, batch: int = 1,
                      callback: StepCallback | None = None) -> torch.Tensor:
    """Edit ``x_src`` (1, C, h, w) along ``path``: ``velocity_fn`` is the guided velocity under ``e(a)`` (one row
    per image, ``batch`` of them); returns ``(batch, C, h, w)``. The module docstring gives the update."""
    z = x_src.expand(batch, *x_src.shape[1:])
    for i in range(path.steps):
        t, t_next = path.times[i], path.times[i + 1]
        z_target = z + (path.noisy[i:i + 1] - x_src)
        v = velocity_fn(z_target, t.to(z.device).float().expand(batch))
        z = euler_step(z, v - path.velocity[i:i + 1], float(t_next - t))
        if callback is not None:
            callback(i + 1, path.steps)
    return z
