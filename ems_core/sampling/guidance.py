"""Classifier-free guidance: a backend and its embeddings as one ``(z, t) -> v`` function."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..backends.contract import Backend
from ..embeddings import PromptEmbedding, PromptMixture, match_batch, unmixed
from .ode import VelocityFn

__all__ = ["guided_velocity", "ramped_guidance"]


def guided_velocity(
    backend: Backend,
    cond: PromptEmbedding | PromptMixture,
    uncond: PromptEmbedding | None = None,
    guidance: float | Sequence[float] = 1.0,
) -> VelocityFn:
    """Classifier-free guided velocity ``v_u + g (v_c - v_u)`` as a ``(z, t) -> v`` function.

    With ``guidance == 1`` (or no ``uncond``) it is the plain conditional velocity, one transformer
    evaluation per call; otherwise the two branches run as one batch ``[uncond, cond]`` (as diffusers'
    SD3 pipeline does). ``cond``/``uncond`` are batch-1 or batch-B embeddings. ``guidance`` may also be one
    number per row of ``z`` (:func:`ramped_guidance`). A :class:`~ems_core.embeddings.PromptMixture` ``cond``
    blends its knots' conditional velocities, ``v_c = sum_j w_j v(z, t, E_j)``; the weights sum to 1, so that is
    also the blend of the knots' guided velocities, and the unconditional branch runs once per image.
    """
    if not isinstance(guidance, (int, float)):
        scales = [float(g) for g in guidance]
        if len(set(scales)) == 1:
            guidance = scales[0]
    cond, mixture = unmixed(cond)

    def conditional(z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        if mixture is None:
            return backend.velocity(z, t, match_batch(cond, z.shape[0]))
        return mixture.gather(backend.velocity(mixture.spread(z), mixture.spread(t), cond))

    if uncond is None or guidance == 1.0:
        return conditional

    def guided(z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        batch = z.shape[0]
        if mixture is None:
            both = PromptEmbedding.cat([match_batch(uncond, batch), match_batch(cond, batch)])
            v_uncond, v_cond = backend.velocity(torch.cat([z, z]), torch.cat([t, t]), both).chunk(2)
        else:
            both = PromptEmbedding.cat([match_batch(uncond, batch), cond])
            rows = backend.velocity(torch.cat([z, mixture.spread(z)]), torch.cat([t, mixture.spread(t)]), both)
            v_uncond, v_cond = rows[:batch], mixture.gather(rows[batch:])
        if isinstance(guidance, (int, float)):
            return v_uncond + guidance * (v_cond - v_uncond)
        if len(scales) != batch:
            raise ValueError(f"{len(scales)} guidance scales for a batch of {batch}")
        scale = torch.tensor(scales, device=z.device, dtype=v_cond.dtype).view(-1, *([1] * (z.dim() - 1)))
        return v_uncond + scale * (v_cond - v_uncond)

    return guided


def ramped_guidance(guidance: float, source_guidance: float, ramp: float, degree: float) -> float:
    """The target-side guidance of an edit whose largest ``|degree|`` is ``degree``, when the source prompt's
    side (the difference sampler's source path, or the inversion) uses ``source_guidance``:
    ``g_s + min(1, degree / ramp) (g - g_s)`` (``ramp`` 0: ``g`` at every nonzero degree). At degree 0 both sides
    use the same guidance, so the source comes back (exactly, with the difference sampler);
    from ``ramp`` on it is FlowEdit's unequal guidance (docs/method.md, "The Sample step: what won")."""
    if degree < 0:
        raise ValueError(f"degree must be the largest |degree| of an edit, got {degree}")
    reach = min(1.0, degree / ramp) if ramp > 0 else float(degree > 0)
    return source_guidance + reach * (guidance - source_guidance)
