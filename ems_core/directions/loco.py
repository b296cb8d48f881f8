"""LOCO Edit (Chen et al., NeurIPS 2024), unsupervised: directions from the PMP Jacobian's top singular vectors.

At the inverted latent ``z_t`` of the source image, with the PMP ``f(z) = z - t v(z, t, e_src)`` (the
velocity the sampler integrates: guided with the source prompt), a region mask ``M`` (``(h, w)``, or none)
and its complement ``1 - M``:

1. ``J_M = diag(M) df/dz``: its top-``k`` right singular vectors ``v_1..v_k`` and values ``s_1..s_k`` by
   subspace iteration (:func:`~ems_core.directions.jacobian.subspace_iteration`): the latent moves that
   change the region's predicted clean latent most, to first order.
2. Optionally (``null_rank = r' > 0``, a mask given): the complement's top-``r'`` right singular vectors
   ``Vbar`` of ``diag(1 - M) df/dz``, and ``v_p = (I - Vbar Vbar^T) v / ||...||``: remove what would change
   the rest of the image most.
3. Sign: each vector's largest-magnitude component is made positive
   (:func:`~ems_core.directions.base.canonical_sign`), so a direction's sign is deterministic; which
   way is "more" of an attribute is read off by applying it, not known in advance.

Applied as ``z_t' = z_t + lambda v_p`` and sampled down to 0 with the source prompt (degrees 0).
"""

from __future__ import annotations

import torch

from .base import Direction, canonical_sign
from .jacobian import IterationCallback, PMPFunction, SubspaceResult, masked, null_space_project, subspace_iteration

__all__ = ["loco_directions"]


def loco_directions(fn: PMPFunction, z_t: torch.Tensor, t: float, k: int, generator: torch.Generator,
                    model: str, mask: torch.Tensor | None = None, mask_kind: str = "none",
                    null_rank: int = 0, max_iters: int = 30, tol: float = 1e-3, oversample: int = 0,
                    chunk: int | None = None,
                    provenance: dict | None = None,
                    callback: IterationCallback | None = None) -> tuple[list[Direction], dict]:
    """The top-``k`` LOCO directions of the (masked) PMP Jacobian at ``z_t`` (module docstring).

    Args:
        fn: the PMP ``z -> x0_hat`` at noise level ``t`` (unmasked; ``mask`` is applied here).
        z_t: the inverted latent ``(1, C, h, w)`` at ``t``.
        t: its noise level (the directions' ``noise_level``).
        k: directions to return.
        generator: random start of the subspace iterations (the complement's uses it too, afterwards).
        model: the backend's name (recorded in each :class:`Direction`).
        mask: region ``(h, w)`` in latent space (0/1), or ``None`` for the whole image.
        mask_kind: what the mask is ("object", "background", "none"...), for the provenance.
        null_rank: ``r'``: project off the complement's top ``r'`` directions (needs a mask; 0 = no).
        max_iters, tol, oversample, chunk: subspace-iteration settings.
        provenance: what the caller knows (prompt, source image hash...), copied into each direction.
        callback: ``(iteration, movement)`` of the main subspace iteration.

    Returns:
        The directions (unit, deterministic sign) and a report: iterations, convergence, movements,
        singular values, Jacobian products spent.
    """
    if null_rank and mask is None:
        raise ValueError("a null-space projection needs a region mask (its complement is projected off)")
    top: SubspaceResult = subspace_iteration(masked(fn, mask), z_t, k, generator, max_iters, tol, oversample, chunk,
                                             callback)
    vectors, complement = top.vectors, None
    if null_rank:
        complement = subspace_iteration(masked(fn, 1.0 - mask), z_t, null_rank, generator, max_iters, tol,
                                        oversample, chunk)
        vectors = null_space_project(vectors, complement.vectors)
    report = {"k": k, "oversample": oversample, "tol": tol, "iterations": top.iterations,
              "converged": top.converged, "movement": top.movement,
              "singular_values": [float(s) for s in top.values], "products": top.products,
              "complement": None if complement is None else {
                  "rank": null_rank, "iterations": complement.iterations, "converged": complement.converged,
                  "singular_values": [float(s) for s in complement.values], "products": complement.products}}
    directions = []
    for i, vector in enumerate(vectors):
        record = {**(provenance or {}), "k_index": i, "singular_value": float(top.values[i]), "mask": mask_kind,
                  "null_rank": null_rank, "iterations": top.iterations, "converged": top.converged}
        directions.append(Direction(canonical_sign(vector).detach().clone(), model, float(t), "loco", record))
    return directions, report
