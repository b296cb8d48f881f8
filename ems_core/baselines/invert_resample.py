"""Invert, then re-sample: the plain recipe EMS's sampler refines.

The source latent is inverted to ``t0`` under the *source* prompt with explicit Euler steps and no
guidance (DDIM-style inversion, ``inversion_guidance = 1``), then sampled back to 0 under the target with
CFG, on the same grid. EMS differs only in its inversion (guided like the sampler, fixed-point exact)
and, where configured, its refinement. Cost: ``k`` (inversion) + ``2k`` (sampling), ``k`` the steps below ``t0``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..backends.contract import Backend
from ..embeddings import PromptEmbedding
from ..sampling import guided_velocity, integrate, invert, tail_schedule

__all__ = ["InvertResampleSettings", "invert_resample"]


@dataclass(frozen=True)
class InvertResampleSettings:
    steps: int = 20  # length of the full schedule; the part below start_time runs both ways
    start_time: float = 0.7  # t0
    guidance: float = 2.0  # CFG of the re-sampling
    inversion_guidance: float = 1.0  # CFG of the inversion (1 = the conditional velocity alone)


def invert_resample(backend: Backend, image_latent: torch.Tensor, source_embedding: PromptEmbedding,
                    target_embedding: PromptEmbedding, uncond: PromptEmbedding, settings: InvertResampleSettings,
                    generator: torch.Generator) -> torch.Tensor:
    """Invert ``image_latent`` (1, C, h, w) to ``t0`` and re-sample under each target row: (B, C, h, w).
    Deterministic (``generator`` is unused)."""
    batch = target_embedding.batch_size
    times = tail_schedule(backend.sigmas(settings.steps), settings.start_time)
    inverse = guided_velocity(backend, source_embedding, uncond, settings.inversion_guidance)
    z_t0 = invert(inverse, image_latent, times.flip(0))  # (1, C, h, w)
    velocity = guided_velocity(backend, target_embedding, uncond, settings.guidance)
    return integrate(velocity, z_t0.expand(batch, *z_t0.shape[1:]), times)
