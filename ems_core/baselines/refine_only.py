"""Refine only: EMS's constrained score distillation (``ems_core.refine.sds``) applied to the source latent
under the target embedding, with no inversion and no re-sampling:

    z <- z + lr (delta(z) - lambda (z - z_src)),  delta(z) = -t [v(z_t, t, e_tgt) - v(z_t, t, e_src)],

``z`` starting at ``z_src``. Cost: 2 evaluations per iteration."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..backends.contract import Backend
from ..embeddings import PromptEmbedding
from ..refine import refine_latent

__all__ = ["RefineOnlySettings", "refine_only"]


@dataclass(frozen=True)
class RefineOnlySettings:
    iters: int = 8  # SDS iterations (EMS itself runs 0-2 after sampling)
    lr: float = 0.5
    proximity: float = 0.2
    t_max: float = 0.6
    t_min: float = 0.2


def refine_only(backend: Backend, image_latent: torch.Tensor, source_embedding: PromptEmbedding,
                target_embedding: PromptEmbedding, uncond: PromptEmbedding, settings: RefineOnlySettings,
                generator: torch.Generator) -> torch.Tensor:
    """``settings.iters`` constrained-SDS steps from ``image_latent`` (1, C, h, w) per target row: (B, C, h, w)."""
    batch = target_embedding.batch_size
    z = image_latent.expand(batch, *image_latent.shape[1:])
    return refine_latent(backend, z, z, target_embedding, source_embedding, settings.iters, settings.lr,
                         settings.proximity, settings.t_max, settings.t_min, generator)
