"""Jacobian tools for the posterior-mean predictor (PMP), as pure functions over a ``z -> x0_hat`` callable.

For a rectified-flow model at noise level ``t`` the PMP is ``x0_hat(z_t) = z_t - t v(z_t, t, e)``
(:func:`~ems_core.sampling.ode.posterior_mean`; LOCO Edit's ``f``), and its Jacobian
``J = dx0_hat/dz_t`` is what the latent-direction methods read. ``J`` (``n x n``, ``n = C h w``:
2048 for the bundled model, 262,144 for SD3 at 1024 px) is never materialised: only

- ``jvp``: ``J u`` (forward mode, :func:`torch.func.jvp`), and
- ``vjp``: ``J^T w`` (reverse mode, :func:`torch.func.vjp`),

for a batch of vectors at once (the primal is repeated, one row per vector: the transformer treats rows
independently; ``torch.func.vmap`` does not go through diffusers' attention code).

*What works through diffusers' transformers (torch 2.13, diffusers 0.42, SD3 / Flux / the bundled MMDiT):*
``torch.func.vjp`` and ``torch.autograd.functional.vjp`` work as they are. Forward mode does not:
PyTorch's fused CPU attention kernel (``_scaled_dot_product_flash_attention_for_cpu``) has no forward-mode
derivative, and ``torch.autograd.functional.jvp`` (the double-backward trick) fails on the missing
derivative of its backward. Both work under ``torch.nn.attention.sdpa_kernel(SDPBackend.MATH)``, the
plain matmul-softmax attention, which :func:`jvp` therefore switches on for its call (on a GPU it also
replaces the flash / memory-efficient kernels, which lack forward mode as well: more memory at large
resolutions). ``tests/directions/test_jacobian.py`` checks both products against finite differences on
the tiny SD3, Flux and world backends. Gradients are never switched off here: the caller decides.

Region masks are ``(h, w)`` tensors in latent space: ``masked(f, M)(z) = M * f(z)`` (broadcast over
channels), whose Jacobian is ``diag(M) J``; :func:`latent_mask` area-downsamples a pixel mask.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

from ..sampling.ode import VelocityFn, posterior_mean

__all__ = ["PMPFunction", "SubspaceResult", "jvp", "latent_mask", "masked", "null_space_project", "pmp_function",
           "subspace_iteration", "vjp"]

PMPFunction = Callable[[torch.Tensor], torch.Tensor]  # z (B, C, h, w) -> x0_hat (B, C, h, w), rows independent
IterationCallback = Callable[[int, float], None]  # (iteration, how far the subspace moved)


def pmp_function(velocity_fn: VelocityFn, t: float) -> PMPFunction:
    """``z -> x0_hat(z) = z - t v(z, t)`` at a fixed noise level ``t`` (``velocity_fn`` may be guided)."""

    def pmp(z: torch.Tensor) -> torch.Tensor:
        times = torch.full((z.shape[0],), float(t), device=z.device, dtype=torch.float32)
        return posterior_mean(z, times, velocity_fn(z, times))

    return pmp


def masked(fn: PMPFunction, mask: torch.Tensor | None) -> PMPFunction:
    """``z -> M * fn(z)`` for a latent-space mask ``M`` ``(h, w)`` (``None``: ``fn`` itself)."""
    if mask is None:
        return fn

    def region(z: torch.Tensor) -> torch.Tensor:
        return fn(z) * mask.to(device=z.device, dtype=z.dtype)

    return region


def latent_mask(pixel_mask: torch.Tensor, latent_hw: tuple[int, int], threshold: float = 0.0) -> torch.Tensor:
    """A pixel mask ``(H, W)`` in [0, 1] -> a binary latent mask ``(h, w)`` (float 0/1).

    Each latent cell is the area average of the pixels it covers; a cell is in the region when that
    average exceeds ``threshold`` (0: any coverage at all, which dilates the region to whole cells).
    """
    pixel_mask = torch.as_tensor(pixel_mask, dtype=torch.float32)
    if pixel_mask.dim() != 2:
        raise ValueError(f"a pixel mask is (H, W), got shape {tuple(pixel_mask.shape)}")
    area = F.interpolate(pixel_mask[None, None], size=tuple(latent_hw), mode="area")[0, 0]  # (h, w)
    return (area > threshold).float()


def _rows(fn: Callable[[torch.Tensor], torch.Tensor], vectors: torch.Tensor, chunk: int | None) -> torch.Tensor:
    """``fn`` over the rows of ``vectors`` in chunks of ``chunk`` (``None``: all at once)."""
    if chunk is None or chunk >= vectors.shape[0]:
        return fn(vectors)
    return torch.cat([fn(part) for part in vectors.split(chunk)])


def jvp(fn: PMPFunction, z: torch.Tensor, tangents: torch.Tensor, chunk: int | None = None) -> torch.Tensor:
    """``J u_i`` for each row ``u_i`` of ``tangents`` ``(k, C, h, w)``, ``J = dfn/dz`` at ``z`` ``(1, C, h, w)``.

    Forward mode (:func:`torch.func.jvp`) under the math attention kernel (module docstring); ``chunk``
    bounds the rows per call (memory).
    """

    def block(u: torch.Tensor) -> torch.Tensor:
        primal = z.expand(u.shape[0], *z.shape[1:]).contiguous()
        with sdpa_kernel(SDPBackend.MATH):
            return torch.func.jvp(fn, (primal,), (u.to(z.dtype),))[1]

    return _rows(block, tangents, chunk)


def vjp(fn: PMPFunction, z: torch.Tensor, cotangents: torch.Tensor, chunk: int | None = None) -> torch.Tensor:
    """``J^T w_i`` for each row ``w_i`` of ``cotangents`` ``(k, C, h, w)`` (reverse mode, :func:`torch.func.vjp`).

    ``J^T w`` is the gradient of ``<w, fn(z)>`` with respect to ``z``.
    """

    def block(w: torch.Tensor) -> torch.Tensor:
        primal = z.expand(w.shape[0], *z.shape[1:]).contiguous()  # one row per vector: gradients stay apart
        _, pullback = torch.func.vjp(fn, primal)
        return pullback(w.to(z.dtype))[0]

    return _rows(block, cotangents, chunk)


@dataclass(frozen=True)
class SubspaceResult:
    """Top-``k`` right singular vectors and values of a Jacobian, found by subspace iteration."""

    vectors: torch.Tensor  # (k, C, h, w), orthonormal, by decreasing singular value
    values: torch.Tensor  # (k,), decreasing
    iterations: int  # iterations run (each: k JVPs and k VJPs)
    converged: bool  # the subspace moved less than ``tol`` in the last iteration
    movement: list[float] = field(default_factory=list)  # per iteration: sin of the largest principal angle
    products: int = 0  # Jacobian-vector products spent (JVP rows + VJP rows)


def subspace_iteration(fn: PMPFunction, z: torch.Tensor, k: int, generator: torch.Generator,
                       max_iters: int = 30, tol: float = 1e-3, oversample: int = 0, chunk: int | None = None,
                       callback: IterationCallback | None = None) -> SubspaceResult:
    """Top-``k`` right singular vectors of ``J = dfn/dz`` at ``z`` by subspace (power) iteration on ``J^T J``.

    LOCO Edit's algorithm with a Rayleigh-Ritz step: ``V`` random orthonormal ``(n, b)``, ``b = k + oversample``
    (from ``generator``); each iteration computes ``U = J V`` (``b`` JVPs) and its SVD ``U = P S Q^T``, so
    that ``V Q`` are the Ritz vectors (the best singular-vector estimates in ``span V``) and ``S`` the Ritz
    values; it stops when the top-``k`` Ritz subspace moved less than ``tol`` since the previous iteration,
    ``||V_k' - V_k V_k^T V_k'||_2 < tol`` (the sine of the largest principal angle), and otherwise continues
    with ``V <- QR(J^T U Q).Q`` (``b`` VJPs), up to ``max_iters`` iterations. The subspace converges like
    ``(sigma_{b+1} / sigma_k)^(2 i)``: oversampling helps when ``sigma_k`` and ``sigma_{k+1}`` are close.
    Single vectors are well defined only where their singular values are apart. Signs are those of the SVD
    (see :func:`~ems_core.directions.base.canonical_sign`).

    Args:
        fn: the (masked) PMP, rows independent.
        z: the point ``(1, C, h, w)``.
        k: how many vectors, ``1 <= k <= n``.
        generator: the random start (explicit, so results are reproducible).
        max_iters, tol: stopping rule (``max_iters`` counts the JVP batches; the first only starts).
        oversample: extra vectors iterated alongside (not returned).
        chunk: rows per JVP/VJP call (memory).
        callback: ``(iteration, movement)`` after each iteration from the second.
    """
    shape = tuple(z.shape[1:])
    n = z[0].numel()
    block = k + oversample
    if not 1 <= k <= n or oversample < 0 or block > n:
        raise ValueError(f"k must be in [1, {n}] and k + oversample at most {n}, got k={k}, oversample={oversample}")
    if max_iters < 2 or not tol > 0:
        raise ValueError("max_iters must be >= 2 and tol > 0")
    start = torch.randn(n, block, generator=generator, dtype=torch.float64).to(device=z.device, dtype=z.dtype)
    basis = torch.linalg.qr(start).Q  # (n, b)
    movement: list[float] = []
    converged, previous, products = False, None, 0
    iterations = 0
    for iterations in range(1, max_iters + 1):
        image = jvp(fn, z, basis.T.reshape(block, *shape), chunk).reshape(block, n).T  # (n, b) = J V
        products += block
        _, values, rotation = torch.linalg.svd(image, full_matrices=False)  # J V = P S Q^T
        ritz = basis @ rotation.T  # (n, b): Ritz vectors, by decreasing Ritz value
        top = ritz[:, :k]
        if previous is not None:
            moved = float(torch.linalg.matrix_norm(top - previous @ (previous.T @ top), ord=2))
            movement.append(moved)
            if callback is not None:
                callback(iterations, moved)
            if moved < tol:
                converged = True
                break
        if iterations == max_iters:
            break
        previous = top
        pulled = vjp(fn, z, (image @ rotation.T).T.reshape(block, *shape), chunk).reshape(block, n).T  # J^T J V Q
        products += block
        basis = torch.linalg.qr(pulled).Q
    return SubspaceResult(top.T.reshape(k, *shape), values[:k], iterations, converged, movement, products)


def null_space_project(vectors: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """``v_p = (I - B^T B) v / ||(I - B^T B) v||`` for each row ``v`` of ``vectors`` ``(k, C, h, w)`` (or one
    ``(C, h, w)``), ``B`` the orthonormal rows of ``basis`` ``(r, C, h, w)``: LOCO's projection off the
    complement region's top directions. Raises ``ValueError`` if a vector lies in ``span B``."""
    single = vectors.dim() == basis.dim() - 1
    flat = (vectors.unsqueeze(0) if single else vectors).reshape(-1 if single else vectors.shape[0], basis[0].numel())
    rows = basis.reshape(basis.shape[0], -1).to(flat.dtype)  # (r, n)
    projected = flat - (flat @ rows.T) @ rows
    projected = projected - (projected @ rows.T) @ rows  # once more: orthogonal to float precision
    norms = projected.norm(dim=1, keepdim=True)
    if bool((norms <= 1e-6 * flat.norm(dim=1, keepdim=True).clamp_min(1e-30)).any()):
        raise ValueError("a direction lies in the span of the directions it is projected off")
    result = (projected / norms).reshape(-1, *basis.shape[1:])
    return result[0] if single else result
