"""What a text pair asks of the PMP, and what "strength 1" means for a text-supervised direction.

With the guided velocity ``v_g(z, t, e) = v(z, t, "") + g (v(z, t, e) - v(z, t, ""))`` the sampler uses,
the text pair ``(e_src, e_tgt)`` asks the predicted clean latent at ``z_t`` to change by

    d = x0_hat(z_t; e_tgt) - x0_hat(z_t; e_src) = -t g (v(z_t, t, e_tgt) - v(z_t, t, e_src)),

the delta score of EMS's constrained SDS (:mod:`ems_core.refine.sds`) at the inverted latent, scaled by the
guidance: zero wherever the two prompts agree. A direction ``v`` moves that prediction, to first order,
by ``lambda J v``; *strength 1* is the ``lambda`` whose first-order change best matches ``d``,

    lambda_1 = <J v, d> / ||J v||^2        (least squares over lambda of ||lambda J v - d||^2),

so that a degree ``a`` of a text direction means the latent move ``a lambda_1 v``, as a degree ``a`` of an
EMS edit means ``e_src + a (e_tgt - e_src)``. With a region mask ``M``, ``J`` and ``d`` are both masked.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from .jacobian import PMPFunction, jvp

__all__ = ["StrengthFit", "matched_strength", "text_pmp_delta"]


class StrengthFit(NamedTuple):
    """Strength 1 of a direction, and how much one latent unit along it moves the prediction."""

    strength: float  # lambda_1 = <J v, d> / ||J v||^2
    gain: float  # ||J v||


def text_pmp_delta(source_pmp: PMPFunction, target_pmp: PMPFunction, z_t: torch.Tensor,
                   mask: torch.Tensor | None = None) -> torch.Tensor:
    """``d = M * (x0_hat(z_t; e_tgt) - x0_hat(z_t; e_src))`` ``(1, C, h, w)`` (module docstring)."""
    delta = target_pmp(z_t) - source_pmp(z_t)
    return delta if mask is None else delta * mask.to(device=delta.device, dtype=delta.dtype)


def matched_strength(fn: PMPFunction, z_t: torch.Tensor, vector: torch.Tensor, delta: torch.Tensor) -> StrengthFit:
    """``lambda_1 = <J v, d> / ||J v||^2`` (and ``||J v||``) for a direction ``vector`` ``(C, h, w)`` and a
    (masked) PMP change ``delta`` ``(1, C, h, w)``; ``fn`` is the (masked) PMP. One JVP. Raises
    ``ValueError`` when ``J v`` is 0."""
    moved = jvp(fn, z_t, vector.unsqueeze(0))  # (1, C, h, w)
    gain = float((moved * moved).sum())
    if gain <= 0.0:
        raise ValueError("the direction does not move the predicted clean latent (J v = 0)")
    return StrengthFit(float((moved * delta).sum()) / gain, gain ** 0.5)
