"""Constrained score distillation (EMS step 3, "Sample"): a short refinement of the edited latent.

For a rectified-flow model the denoised estimate is ``x0(z_t, e) = z_t - t v(z_t, t, e)`` with
``z_t = (1 - t) z + t eps``. The delta-score of a target embedding against the source embedding at the
*same* noisy latent,

    delta(z) = x0(z_t, e(a)) - x0(z_t, e_src) = -t [v(z_t, t, e(a)) - v(z_t, t, e_src)],

is exactly zero wherever the two prompts agree (and identically zero when they are equal), so it
only pushes what the edit names. A proximity term keeps the rest at the source latent:

    z <- z + lr * (delta(z) - lambda (z - z_src)),

i.e. gradient descent on ``lambda/2 ||z - z_src||^2`` plus the SDS direction (weight ``w(t) = 1``;
the network Jacobian is skipped, as in SDS). Noise levels are annealed from ``t_max`` to ``t_min``;
``eps`` comes from an explicit generator, one draw per iteration shared by a batch.
"""

from __future__ import annotations

from typing import Callable

import torch

from ..backends.contract import Backend
from ..embeddings import PromptEmbedding, PromptMixture, match_batch, unmixed


def sds_delta(backend: Backend, z: torch.Tensor, t: float, eps: torch.Tensor,
              edit: PromptEmbedding | PromptMixture, source: PromptEmbedding) -> torch.Tensor:
    """``delta = -t [v(z_t, t, e(a)) - v(z_t, t, e_src)]`` at ``z_t = (1 - t) z + t eps`` (one batched call; a
    :class:`~ems_core.embeddings.PromptMixture` edit blends its knots' velocities)."""
    batch = z.shape[0]
    z_t = (1 - t) * z + t * eps
    edit, mixture = unmixed(edit)
    edit_latents = z_t if mixture is None else mixture.spread(z_t)
    both = PromptEmbedding.cat([match_batch(edit, edit_latents.shape[0]), match_batch(source, batch)])
    latents = torch.cat([edit_latents, z_t])
    times = torch.full((latents.shape[0],), t, device=z.device, dtype=z.dtype)
    rows = backend.velocity(latents, times, both)
    v_edit, v_source = rows[:edit_latents.shape[0]], rows[edit_latents.shape[0]:]
    if mixture is not None:
        v_edit = mixture.gather(v_edit)
    return -t * (v_edit - v_source)


def annealed_time(i: int, iters: int, t_max: float, t_min: float) -> float:
    """Noise level of iteration ``i`` of ``iters``: linear from ``t_max`` (first) to ``t_min`` (last).

    Computed per iteration rather than as a list of all of them, so a huge ``iters`` costs no memory.
    """
    return t_max if iters <= 1 else t_max + (t_min - t_max) * i / (iters - 1)


def refine_latent(backend: Backend, z: torch.Tensor, z_source: torch.Tensor, edit: PromptEmbedding | PromptMixture,
                  source: PromptEmbedding, iters: int, lr: float, proximity: float, t_max: float,
                  t_min: float, generator: torch.Generator,
                  callback: Callable[[int, int], None] | None = None) -> torch.Tensor:
    """``iters`` steps of ``z <- z + lr (delta(z) - lambda (z - z_src))`` (module docstring);
    ``callback(i, iters)`` after each (progress, and the place a caller may stop the work)."""
    for i in range(iters):
        t = annealed_time(i, iters, t_max, t_min)
        # One noise for the whole batch: each image of a sweep equals its single render.
        eps = torch.randn((1, *z.shape[1:]), generator=generator, dtype=torch.float32).to(z.device, z.dtype)
        eps = eps.expand_as(z)
        z = z + lr * (sds_delta(backend, z, t, eps, edit, source) - proximity * (z - z_source))
        if callback is not None:
            callback(i + 1, iters)
    return z
