"""Jacobian tools: subspace iteration against torch.linalg.svd, JVP/VJP against finite differences."""

import pytest
import torch

from ems_core.directions import (canonical_sign, jvp, latent_mask, masked, null_space_project, pmp_function,
                                 subspace_iteration, vjp)
from ems_core.sampling import guided_velocity

from .helpers import apply_matrix, linear_map

SHAPE = (2, 3, 3)  # n = 18


def aligned(found: torch.Tensor, expected: torch.Tensor) -> torch.Tensor:
    """|cos| between matching rows (singular vectors are defined up to sign)."""
    found, expected = found.reshape(found.shape[0], -1), expected.reshape(expected.shape[0], -1)
    return ((found * expected).sum(1) / (found.norm(dim=1) * expected.norm(dim=1))).abs()


def test_subspace_iteration_recovers_a_linear_maps_top_singular_vectors():
    matrix = linear_map(SHAPE, [5.0, 3.0, 2.0, 1.0])
    z = torch.zeros(1, *SHAPE, dtype=torch.float64)
    result = subspace_iteration(apply_matrix(matrix), z, 3, torch.Generator().manual_seed(1), max_iters=200,
                                tol=1e-9)
    _, values, right = torch.linalg.svd(matrix)
    assert result.converged and result.iterations < 200
    assert torch.allclose(result.values, values[:3], rtol=1e-9)
    assert torch.all(aligned(result.vectors, right[:3]) > 1 - 1e-9)
    flat = result.vectors.reshape(3, -1)
    assert torch.allclose(flat @ flat.T, torch.eye(3, dtype=torch.float64), atol=1e-12)
    assert result.products == 3 * (2 * result.iterations - 1)  # a JVP batch each iteration, a VJP batch but the last


def test_subspace_iteration_on_a_mildly_nonlinear_map_matches_the_dense_jacobian():
    matrix, mixing = linear_map(SHAPE, [4.0, 2.5, 1.5], seed=2), linear_map(SHAPE, [1.0], seed=3)
    linear = apply_matrix(matrix)

    def fn(z):  # A z + 0.3 tanh(B z): the Jacobian depends on z
        return linear(z) + 0.3 * torch.tanh(apply_matrix(mixing)(z))

    z = torch.randn(1, *SHAPE, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    dense = torch.autograd.functional.jacobian(lambda x: fn(x.reshape(1, *SHAPE)).reshape(-1), z.reshape(-1))
    _, values, right = torch.linalg.svd(dense)
    result = subspace_iteration(fn, z, 2, torch.Generator().manual_seed(5), max_iters=300, tol=1e-10, oversample=2)
    assert result.converged
    assert torch.allclose(result.values, values[:2], rtol=1e-8)
    assert torch.all(aligned(result.vectors, right[:2]) > 1 - 1e-8)


def test_subspace_iteration_reports_when_it_has_not_converged():
    matrix = linear_map(SHAPE, [1.0, 0.99, 0.98])  # no gap: the top-1 vector needs many iterations
    z = torch.zeros(1, *SHAPE, dtype=torch.float64)
    result = subspace_iteration(apply_matrix(matrix), z, 1, torch.Generator().manual_seed(0), max_iters=3, tol=1e-6)
    assert not result.converged and result.iterations == 3 and len(result.movement) == 2
    assert result.movement[-1] >= 1e-6
    with pytest.raises(ValueError, match="k must be"):
        subspace_iteration(apply_matrix(matrix), z, 0, torch.Generator())


def test_canonical_sign_makes_the_largest_component_positive():
    v = torch.tensor([[[0.1, -0.9], [0.3, 0.2]]])
    assert torch.equal(canonical_sign(v), -v) and torch.equal(canonical_sign(-v), -v)
    assert torch.equal(canonical_sign(canonical_sign(v)), canonical_sign(v))


def test_null_space_projection_is_orthogonal_to_the_complement():
    generator = torch.Generator().manual_seed(0)
    basis = torch.linalg.qr(torch.randn(18, 4, generator=generator, dtype=torch.float64)).Q.T.reshape(4, *SHAPE)
    vectors = torch.randn(3, *SHAPE, generator=generator, dtype=torch.float64)
    projected = null_space_project(vectors, basis)
    overlaps = projected.reshape(3, -1) @ basis.reshape(4, -1).T
    assert overlaps.abs().max() < 1e-12
    assert torch.allclose(projected.reshape(3, -1).norm(dim=1), torch.ones(3, dtype=torch.float64))
    # What is left of v is its component off the basis, normalised.
    rest = vectors[0].reshape(-1) - basis.reshape(4, -1).T @ (basis.reshape(4, -1) @ vectors[0].reshape(-1))
    assert torch.allclose(null_space_project(vectors[0], basis).reshape(-1), rest / rest.norm())
    with pytest.raises(ValueError, match="lies in the span"):
        null_space_project(basis[1] * 2.0, basis)


def test_masked_jacobian_is_the_mask_times_the_jacobian_and_latent_masks_cover_cells():
    matrix = linear_map(SHAPE, [3.0, 2.0])
    fn = apply_matrix(matrix)
    mask = torch.zeros(3, 3, dtype=torch.float64)
    mask[1:, :2] = 1.0
    z = torch.zeros(1, *SHAPE, dtype=torch.float64)
    u = torch.randn(2, *SHAPE, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert torch.allclose(jvp(masked(fn, mask), z, u), mask * jvp(fn, z, u))
    assert torch.allclose(vjp(masked(fn, mask), z, u), vjp(fn, z, mask * u))
    pixels = torch.zeros(12, 12)
    pixels[5:7, 0:2] = 1.0  # straddles latent rows 1 and 1 (4-pixel cells), column 0
    pixels[11, 11] = 0.5
    cells = latent_mask(pixels, (3, 3))
    assert cells.tolist() == [[0, 0, 0], [1, 0, 0], [0, 0, 1]]
    assert latent_mask(pixels, (3, 3), threshold=0.1).tolist() == [[0, 0, 0], [1, 0, 0], [0, 0, 0]]


@pytest.mark.parametrize("build, rtol", [("tiny_random_sd3", 1e-6), ("tiny_random_flux", 1e-3),
                                         ("tiny_random_world", 1e-6)])
def test_pmp_jvp_and_vjp_match_finite_differences(build, rtol):
    """On diffusers' real transformers (float64): J u by central differences; <w, J u> = <J^T w, u>.

    Flux agrees to about 4e-5 only: part of its computation stays in float32 whatever the weights' dtype.
    """
    from ems_core.backends import tiny

    backend = getattr(tiny, build)(dtype=torch.float64)
    fn = pmp_function(guided_velocity(backend, backend.encode_prompt(["a red circle"]),
                                      backend.encode_prompt([""]), 2.0), 0.7)
    generator = torch.Generator().manual_seed(0)
    shape = backend.latent_shape()
    z, u, w = (torch.randn(b, *shape, generator=generator, dtype=torch.float64) for b in (1, 2, 2))
    forward, backward = jvp(fn, z, u), vjp(fn, z, w)
    assert forward.shape == backward.shape == (2, *shape)
    eps = 1e-5
    with torch.no_grad():
        differences = torch.cat([(fn(z + eps * u[i:i + 1]) - fn(z - eps * u[i:i + 1])) / (2 * eps) for i in range(2)])
    assert float((differences - forward).norm() / forward.norm()) < rtol
    for i in range(2):
        assert float((w[i] * differences[i]).sum()) == pytest.approx(float((backward[i] * u[i]).sum()), rel=rtol)
    # Rows are independent: a batch of two equals two single products.
    assert torch.allclose(jvp(fn, z, u[1:]), forward[1:], rtol=1e-9, atol=1e-12)
