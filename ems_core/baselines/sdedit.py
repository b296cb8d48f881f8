"""SDEdit (Meng et al., 2022) for a rectified flow: noise the source latent to ``t0`` with seeded noise,
``z_t0 = (1 - t0) x_src + t0 n``, and sample down to 0 under the target (Euler on the tail of the
schedule, CFG). Cost: ``(steps below t0) x 2`` evaluations."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..backends.contract import Backend
from ..embeddings import PromptEmbedding
from ..sampling import guided_velocity, integrate, tail_schedule
from ._noise import shared_noise

__all__ = ["SDEditSettings", "sdedit"]


@dataclass(frozen=True)
class SDEditSettings:
    steps: int = 20  # length of the full schedule; the part below start_time runs
    start_time: float = 0.7  # t0: how much of the source is replaced by noise
    guidance: float = 2.0


def sdedit(backend: Backend, image_latent: torch.Tensor, source_embedding: PromptEmbedding,
           target_embedding: PromptEmbedding, uncond: PromptEmbedding, settings: SDEditSettings,
           generator: torch.Generator) -> torch.Tensor:
    """Noise ``image_latent`` (1, C, h, w) to ``t0`` and sample under each target row: (B, C, h, w)."""
    batch = target_embedding.batch_size
    t0 = settings.start_time
    z = (1 - t0) * image_latent + t0 * shared_noise(image_latent, 1, generator)  # (1, C, h, w)
    times = tail_schedule(backend.sigmas(settings.steps), t0)
    velocity = guided_velocity(backend, target_embedding, uncond, settings.guidance)
    return integrate(velocity, z.expand(batch, *z.shape[1:]), times)
