"""Classifier-free guidance: a backend and its embeddings as one ``(z, t) -> v`` function."""

from __future__ import annotations

import torch

from ..backends.contract import Backend
from ..embeddings import PromptEmbedding, match_batch
from .ode import VelocityFn

__all__ = ["guided_velocity"]


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
