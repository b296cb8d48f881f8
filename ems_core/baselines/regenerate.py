"""Regenerate: ignore the source image and generate from seeded noise under the target prompt
(text-to-image with the model's defaults: its generation schedule). The floor any editor must beat on preservation."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..backends.contract import Backend
from ..embeddings import PromptEmbedding
from ..sampling import guided_velocity, integrate
from ._noise import shared_noise

__all__ = ["RegenerateSettings", "regenerate"]


@dataclass(frozen=True)
class RegenerateSettings:
    steps: int = 20
    guidance: float = 4.0


def regenerate(backend: Backend, image_latent: torch.Tensor, source_embedding: PromptEmbedding,
               target_embedding: PromptEmbedding, uncond: PromptEmbedding, settings: RegenerateSettings,
               generator: torch.Generator) -> torch.Tensor:
    """Sample each target row from one seeded noise; ``image_latent`` gives only the shape: (B, C, h, w)."""
    batch = target_embedding.batch_size
    z = shared_noise(image_latent, batch, generator)
    velocity = guided_velocity(backend, target_embedding, uncond, settings.guidance)
    return integrate(velocity, z, backend.generation_sigmas(settings.steps))
