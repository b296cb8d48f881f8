"""The score-distillation direction: the text pair's change of the predicted clean latent, used as the latent
direction itself (the step EMS's constrained SDS takes, with the Jacobian skipped as SDS skips it).

At the inverted latent ``z_t``, with the text pair's PMP change ``d = M (x0_hat(z_t; e_tgt) - x0_hat(z_t; e_src))``
(:func:`~ems_core.directions.text.text_pmp_delta`, ``M`` a region mask or 1):

    v   = M d / ||M d||
    v_p = (I - Vbar Vbar^T) v / ||(I - Vbar Vbar^T) v||   (Vbar: the complement's top r' directions, if any)

*Why, beside T-LOCO and HSDS.* Both of those pull ``d`` back through the PMP Jacobian ``J`` (``J^T d``;
``(J^T J + mu I)^{-1} J^T d``). On the bundled portrait model ``J``'s top singular directions are global
(face width, age and hair move together, docs/method.md "Latent directions"), so even a mouth-only ``d`` comes
back dominated by them: the smile edit they find changes face width most on its own portrait and transfers to
few others. ``d`` itself is where the model says the text pair differs, in the latent's own coordinates; near
the data ``J`` acts on it roughly as a scaled identity (the PMP is a denoiser), so ``v`` moves the prediction
along ``d`` without the Jacobian's reweighting.

*Strength 1* is :data:`UNIT_FRACTION` of ``||z_t||`` (recorded as ``unit_strength``), the slider unit of a
discovered LOCO direction, not the first-order match ``lambda_1 = <J v, d> / ||J v||^2`` that T-LOCO and HSDS
use: for this direction ``J v`` is nearly orthogonal to ``d``, so ``lambda_1`` swings by a factor of 20 between
portraits (0.59 to 12.4 for five smile edits, where ``0.4 ||z_t||`` is 18-21) while the direction's effect does
not. It is kept in the provenance as ``matched_strength``. On the portrait model a strength of 1 moves smile by 0.4-1.5
caption words on the source portrait (docs/method.md, "Latent directions").
"""

from __future__ import annotations

import torch

from .base import Direction
from .jacobian import PMPFunction, masked, null_space_project
from .text import matched_strength, text_pmp_delta

__all__ = ["UNIT_FRACTION", "sds_direction"]

UNIT_FRACTION = 0.4  # strength 1 = this fraction of the inverted latent's norm (a LOCO slider unit)


def sds_direction(source_pmp: PMPFunction, target_pmp: PMPFunction, z_t: torch.Tensor, t: float, model: str,
                  mask: torch.Tensor | None = None, complement_basis: torch.Tensor | None = None,
                  mask_kind: str = "none", provenance: dict | None = None) -> Direction:
    """The score-distillation direction at ``z_t`` (module docstring); arguments as
    :func:`~ems_core.directions.tloco.tloco_direction`'s. Two PMP evaluations and one JVP (for the strength).

    Raises:
        ValueError: when the prompts ask for no change at ``z_t`` inside the region (``d = 0``), or ``z_t`` is 0.
    """
    if float(z_t.norm()) == 0.0:
        raise ValueError("the inverted latent is zero: strength 1 (a fraction of its norm) would be 0")
    with torch.no_grad():
        delta = text_pmp_delta(source_pmp, target_pmp, z_t, mask).detach()  # (1, C, h, w)
    norm = float(delta.norm())
    if norm == 0.0:
        raise ValueError("the source and target prompts ask for no change here (d = 0)")
    vector = delta[0] / norm
    if complement_basis is not None:
        vector = null_space_project(vector, complement_basis)
    vector = vector.detach()
    fit = matched_strength(masked(source_pmp, mask), z_t, vector, delta)
    record = {**(provenance or {}), "mask": mask_kind, "unit_strength": UNIT_FRACTION * float(z_t.norm()),
              "matched_strength": fit.strength, "delta_norm": norm,
              "gain": fit.gain, "null_rank": 0 if complement_basis is None else int(complement_basis.shape[0])}
    return Direction(vector.clone(), model, float(t), "sds", record)
