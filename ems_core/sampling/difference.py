"""The difference sampler: EMS's Sample step as coupled source/target paths (FlowEdit's ODE, Kulikov et al.
2024), driven by the manipulated embedding ``e(a)`` and with the source path computed once per image.

For the steps ``t_0 > t_1 > ... > t_n = 0`` below the start time, with seeded noise ``n_i`` per step (each
channel's spatial mean removed: :func:`centred_noise`):

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

__all__ = ["SourcePath", "centred_noise", "difference_sample", "source_path"]


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


def centred_noise(shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    """Standard normal noise ``(n, C, h, w)`` with each map's spatial mean removed, ``n - mean_hw(n)``.

    One draw serves every edit of a session, over a few steps. Its per-channel mean (sd ``1 / sqrt(h w)``,
    0.03 on a 32x32 latent) then acts like a faint global colour at ``t0``, comparable to what is left of the
    source there (``(1 - t0) x``), and pushes every colour edit of that session the same way: on the portrait
    model, with seed 0, "teal background" edits came out blue and "green" ones yellow (docs/method.md, "The
    Sample step"). Removing it changes the noise's variance by ``1 / (h w)``.
    """
    noise = torch.randn(shape, generator=generator, dtype=torch.float32)
    return noise - noise.mean(dim=(-2, -1), keepdim=True)


def source_path(velocity_fn: VelocityFn, x_src: torch.Tensor, times: torch.Tensor, generator: torch.Generator,
                callback: StepCallback | None = None) -> SourcePath:
    """The source branch of :func:`difference_sample` for ``x_src`` (1, C, h, w): one :func:`centred_noise`
    draw per step from ``generator`` (on the CPU, so a seed gives the same path on every device) and one guided
    velocity each."""
    steps = len(times) - 1
    if steps < 1:
        raise ValueError("the difference sampler needs at least one step below the start time")
    noise = centred_noise((steps, *x_src.shape[1:]), generator).to(x_src.device, x_src.dtype)
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
