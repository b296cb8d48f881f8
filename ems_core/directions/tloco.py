"""T-LOCO, text-supervised LOCO: the text pair's change of the PMP pulled back through its Jacobian.

At the inverted latent ``z_t``, with the source PMP ``f(z) = z - t v_g(z, t, e_src)`` (guided, as sampled),
its Jacobian ``J``, a region mask ``M`` (or none) and the text pair's PMP change ``d``
(:func:`~ems_core.directions.text.text_pmp_delta`: ``d = M (x0_hat(z_t; e_tgt) - x0_hat(z_t; e_src))``):

    v   = J^T M d = grad_z <M d, f(z)>              (one VJP: LOCO's "VJP of d^T f")
    v_p = (I - Vbar Vbar^T) v / ||(I - Vbar Vbar^T) v||   (Vbar: the complement's top r' directions, if any)

``v`` is the steepest ascent of ``<M d, f(z)>``: the latent move that changes the region's prediction most
along what the text asks, to first order. No sign ambiguity: ``<J v, d> > 0`` (towards the target).
*Differences from LOCO's T-LOCO:* LOCO builds ``d`` from ``m (eps_edit - eps_null)`` with separate source
and edit scales (7.5, 4); here ``d`` is the difference of the two *guided* predictions at the session's
guidance ``g`` (``-t g (v_tgt - v_src)``), which vanishes where the prompts agree, as EMS's delta score does.
Strength 1 is :func:`~ems_core.directions.text.matched_strength` (recorded as ``unit_strength``).
"""

from __future__ import annotations

import torch

from .base import Direction
from .jacobian import PMPFunction, masked, null_space_project, vjp
from .text import matched_strength, text_pmp_delta

__all__ = ["tloco_direction"]


def tloco_direction(source_pmp: PMPFunction, target_pmp: PMPFunction, z_t: torch.Tensor, t: float, model: str,
                    mask: torch.Tensor | None = None, complement_basis: torch.Tensor | None = None,
                    mask_kind: str = "none", provenance: dict | None = None) -> Direction:
    """The T-LOCO direction at ``z_t`` (module docstring).

    Args:
        source_pmp, target_pmp: ``z -> x0_hat`` under the source and target prompts (same guidance, noise
            level ``t``).
        z_t: the inverted latent ``(1, C, h, w)``.
        t: its noise level.
        model: the backend's name.
        mask: the edit region ``(h, w)`` (0/1) or ``None``.
        complement_basis: ``(r', C, h, w)`` orthonormal top directions of the complement to project off
            (from :func:`~ems_core.directions.jacobian.subspace_iteration` on ``masked(f, 1 - M)``), or ``None``.
        mask_kind, provenance: recorded in the direction.
    """
    delta = text_pmp_delta(source_pmp, target_pmp, z_t, mask).detach()  # (1, C, h, w)
    if float(delta.norm()) == 0.0:
        raise ValueError("the source and target prompts ask for no change here (d = 0)")
    region = masked(source_pmp, mask)
    pulled = vjp(region, z_t, delta)[0]  # (C, h, w) = J^T M d (M is 0/1, so M M = M)
    vector = pulled / pulled.norm()
    if complement_basis is not None:
        vector = null_space_project(vector, complement_basis)
    vector = vector.detach()
    fit = matched_strength(region, z_t, vector, delta)
    record = {**(provenance or {}), "mask": mask_kind, "unit_strength": fit.strength,
              "delta_norm": float(delta.norm()), "gain": fit.gain,
              "null_rank": 0 if complement_basis is None else int(complement_basis.shape[0])}
    return Direction(vector.clone(), model, float(t), "tloco", record)
