"""HSDS: a Hessian-informed score-distillation direction, guided by a text pair (our design; EIM's loss is
unpublished, see docs/method.md, "Latent directions").

The three text-guided methods here descend one loss at the inverted latent ``z_t``: how far the source
prediction is from the target prediction,

    L(z) = 1/2 ||M (f(z) - sg[f_tgt(z_t)])||^2,   f(z) = z - t v_g(z, t, e_src),  f_tgt(z) = z - t v_g(z, t, e_tgt)

(``sg``: no gradient through the target; ``M`` a region mask or 1), whose negative gradient at ``z_t`` is
``J^T M d`` with ``d = f_tgt(z_t) - f(z_t)`` (:func:`~ems_core.directions.text.text_pmp_delta`). They differ
in the preconditioner:

- EMS's constrained SDS (:mod:`ems_core.refine.sds`) steps along ``d`` itself (the Jacobian skipped, as
  in SDS) plus a proximity pull, on a clean latent, at fresh noise each iteration;
- T-LOCO (:mod:`.tloco`) steps along the gradient ``J^T M d``;
- HSDS takes the damped Gauss-Newton (Levenberg-Marquardt) step, the Hessian of ``L`` being
  ``J^T M J`` up to second derivatives of ``f``:

      v = (J^T J + mu I)^{-1} J^T M d,     mu = damping * ||J b||^2 / ||b||^2,   b = J^T M d

  i.e. the smallest latent move (in the ``mu``-weighted sense) whose first-order change of the whole
  prediction, ``J v``, reproduces ``M d``: inside the region what the text pair names, *zero elsewhere*
  (``J^T J``, not ``J^T M J``: changes outside the region count as error). In the SVD ``J = sum s_i u_i v_i^T``,
  ``v = sum s_i / (s_i^2 + mu) <u_i, M d> v_i``: high-gain directions get ``1/s_i`` (just enough), where
  the gradient weights them by ``s_i`` (most); directions of gain well under ``sqrt(mu)`` are damped away.
  ``mu`` is relative to the curvature along the gradient (the Rayleigh quotient of ``J^T J`` at ``b``),
  so ``damping`` is scale free.

Solved by conjugate gradients from ``x = 0`` (each iteration one JVP and one VJP); the first iterate is a
multiple of ``b``, so ``cg_iters = 1`` gives the T-LOCO direction exactly. Normalised; strength 1 is
:func:`~ems_core.directions.text.matched_strength` (recorded as ``unit_strength``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from .base import Direction
from .jacobian import PMPFunction, jvp, masked, null_space_project, vjp
from .text import matched_strength, text_pmp_delta

__all__ = ["HSDSResult", "conjugate_gradient", "hsds_direction"]


@dataclass(frozen=True)
class HSDSResult:
    """An HSDS direction and how its solve went."""

    direction: Direction
    solution: torch.Tensor  # (C, h, w): x = (J^T J + mu I)^{-1} J^T M d before normalising
    mu: float
    cg_iterations: int
    residuals: list[float] = field(default_factory=list)  # ||r_i|| / ||b|| after each CG iteration


def conjugate_gradient(apply_a, b: torch.Tensor, iters: int, rtol: float = 1e-3,
                       first_product: torch.Tensor | None = None) -> tuple[torch.Tensor, list[float]]:
    """Solve ``A x = b`` (``A`` symmetric positive definite, given as ``apply_a(p) -> A p``) from ``x = 0``:
    at most ``iters`` iterations, stopping once ``||r|| <= rtol ||b||``; ``first_product`` is ``A b`` when
    already known. Returns ``x`` and the relative residual after each iteration."""
    x = torch.zeros_like(b)
    r, p = b.clone(), b.clone()
    b_norm = float(b.norm())
    rr = float((r * r).sum())
    residuals: list[float] = []
    product = first_product if first_product is not None else apply_a(p)
    for i in range(iters):
        alpha = rr / float((p * product).sum())
        x = x + alpha * p
        r = r - alpha * product
        rr_new = float((r * r).sum())
        residuals.append(rr_new ** 0.5 / b_norm)
        if residuals[-1] <= rtol or i == iters - 1:
            break
        p = r + (rr_new / rr) * p
        rr = rr_new
        product = apply_a(p)
    return x, residuals


def hsds_direction(source_pmp: PMPFunction, target_pmp: PMPFunction, z_t: torch.Tensor, t: float, model: str,
                   mask: torch.Tensor | None = None, damping: float = 0.1, cg_iters: int = 8, cg_rtol: float = 1e-3,
                   complement_basis: torch.Tensor | None = None, mask_kind: str = "none",
                   provenance: dict | None = None) -> HSDSResult:
    """The HSDS direction at ``z_t`` (module docstring).

    Args:
        source_pmp, target_pmp: ``z -> x0_hat`` under the source and target prompts (same guidance, level ``t``).
        z_t: the inverted latent ``(1, C, h, w)``.
        t: its noise level.
        model: the backend's name.
        mask: the edit region ``(h, w)`` (0/1) or ``None`` (the text pair alone says what changes).
        damping: ``mu`` relative to the curvature along the gradient (> 0).
        cg_iters, cg_rtol: conjugate-gradient budget (each iteration: one JVP and one VJP).
        complement_basis: optional ``(r', C, h, w)`` directions to project off afterwards (as T-LOCO).
        mask_kind, provenance: recorded in the direction.
    """
    if not damping > 0 or cg_iters < 1:
        raise ValueError("damping must be > 0 and cg_iters >= 1")
    delta = text_pmp_delta(source_pmp, target_pmp, z_t, mask).detach()  # (1, C, h, w) = M d
    if float(delta.norm()) == 0.0:
        raise ValueError("the source and target prompts ask for no change here (d = 0)")
    b = vjp(source_pmp, z_t, delta).detach()  # (1, C, h, w) = J^T M d
    moved_b = jvp(source_pmp, z_t, b).detach()  # J b
    mu = damping * float((moved_b * moved_b).sum()) / float((b * b).sum())

    def normal_operator(p: torch.Tensor) -> torch.Tensor:  # (J^T J + mu I) p
        return (vjp(source_pmp, z_t, jvp(source_pmp, z_t, p)) + mu * p).detach()

    first = (vjp(source_pmp, z_t, moved_b) + mu * b).detach()
    solution, residuals = conjugate_gradient(normal_operator, b, cg_iters, cg_rtol, first_product=first)
    vector = solution[0] / solution[0].norm()
    if complement_basis is not None:
        vector = null_space_project(vector, complement_basis)
    vector = vector.detach()
    fit = matched_strength(masked(source_pmp, mask), z_t, vector, delta)
    record = {**(provenance or {}), "mask": mask_kind, "unit_strength": fit.strength,
              "delta_norm": float(delta.norm()), "gain": fit.gain, "damping": damping, "mu": mu,
              "cg_iterations": len(residuals), "cg_residual": residuals[-1],
              "null_rank": 0 if complement_basis is None else int(complement_basis.shape[0])}
    direction = Direction(vector.clone(), model, float(t), "hsds", record)
    return HSDSResult(direction, solution[0].detach(), mu, len(residuals), residuals)
