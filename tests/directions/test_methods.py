"""LOCO, T-LOCO and HSDS against closed forms on linear maps, and on a session of the tiny world model."""

import pytest
import torch

from ems_core import EditSession
from ems_core.images import pil_to_tensor
from ems_core.directions import (Direction, hsds_direction, loco_directions, masked, matched_strength,
                                 sds_direction, subspace_iteration, text_pmp_delta, tloco_direction)
from ems_core.directions.hsds import conjugate_gradient
from ems_core.edit_directions import (check_applicable, discover_directions, image_hash, region_mask,
                                      render_directions, render_text_edits, text_direction)

from .helpers import apply_matrix, linear_map

SHAPE = (2, 3, 3)


def shifted(fn, shift: torch.Tensor):
    return lambda z: fn(z) + shift


@pytest.fixture()
def linear_pair():
    """A source PMP ``A z`` and a target PMP ``A z + c``: the text pair asks for the change ``d = c``."""
    matrix = linear_map(SHAPE, [4.0, 2.0, 1.0])
    shift = torch.randn(1, *SHAPE, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    source = apply_matrix(matrix)
    return matrix, shift, source, shifted(source, shift), torch.zeros(1, *SHAPE, dtype=torch.float64)


def test_tloco_is_the_normalised_pullback_of_the_text_change(linear_pair):
    matrix, shift, source, target, z = linear_pair
    direction = tloco_direction(source, target, z, 0.6, "toy", provenance={"prompt": "p"})
    expected = (matrix.T @ shift.reshape(-1)).reshape(SHAPE)
    assert torch.allclose(direction.vector, expected / expected.norm(), atol=1e-12)
    moved = matrix @ direction.vector.reshape(-1)
    assert direction.unit_strength == pytest.approx(float(moved @ shift.reshape(-1) / (moved @ moved)), rel=1e-10)
    assert direction.unit_strength > 0 and direction.method == "tloco" and direction.provenance["prompt"] == "p"
    with pytest.raises(ValueError, match="no change"):
        tloco_direction(source, source, z, 0.6, "toy")


def test_tloco_with_a_mask_pulls_back_the_masked_change_only(linear_pair):
    matrix, shift, source, target, z = linear_pair
    mask = torch.tensor([[1.0, 0, 0], [1, 1, 0], [0, 0, 0]], dtype=torch.float64)
    direction = tloco_direction(source, target, z, 0.6, "toy", mask=mask, mask_kind="object")
    expected = (matrix.T @ (mask * shift).reshape(-1)).reshape(SHAPE)
    assert torch.allclose(direction.vector, expected / expected.norm(), atol=1e-12)
    assert torch.equal(text_pmp_delta(source, target, z, mask), mask * shift)


def test_hsds_solves_the_damped_normal_equations(linear_pair):
    matrix, shift, source, target, z = linear_pair
    result = hsds_direction(source, target, z, 0.6, "toy", damping=0.05, cg_iters=18, cg_rtol=1e-12)
    b = matrix.T @ shift.reshape(-1)
    mu = 0.05 * float((matrix @ b).norm() ** 2 / b.norm() ** 2)
    exact = torch.linalg.solve(matrix.T @ matrix + mu * torch.eye(18, dtype=torch.float64), b)
    assert result.mu == pytest.approx(mu, rel=1e-12)
    assert torch.allclose(result.solution.reshape(-1), exact, rtol=1e-7, atol=1e-10)
    assert torch.allclose(result.direction.vector.reshape(-1), exact / exact.norm(), atol=1e-8)
    assert result.residuals[-1] < 1e-8 and result.direction.method == "hsds"
    # One CG iteration is a multiple of the gradient: the T-LOCO direction.
    first = hsds_direction(source, target, z, 0.6, "toy", cg_iters=1).direction
    assert torch.allclose(first.vector, tloco_direction(source, target, z, 0.6, "toy").vector, atol=1e-12)


def test_conjugate_gradient_and_matched_strength_known_answers():
    spd = torch.tensor([[4.0, 1.0], [1.0, 3.0]], dtype=torch.float64)
    b = torch.tensor([1.0, 2.0], dtype=torch.float64)
    x, residuals = conjugate_gradient(lambda p: spd @ p, b, iters=2, rtol=1e-14)
    assert torch.allclose(x, torch.linalg.solve(spd, b)) and len(residuals) == 2
    fn = apply_matrix(2.0 * torch.eye(18, dtype=torch.float64))  # J = 2 I
    v = torch.zeros(SHAPE, dtype=torch.float64)
    v[0, 0, 0] = 1.0
    fit = matched_strength(fn, torch.zeros(1, *SHAPE, dtype=torch.float64), v, 6.0 * v.unsqueeze(0))
    assert fit.strength == pytest.approx(3.0) and fit.gain == pytest.approx(2.0)  # 3 * (2 v) = 6 v


def test_loco_directions_are_deterministic_in_sign_and_projected_off_the_complement(linear_pair):
    matrix, _, source, _, z = linear_pair
    first, report = loco_directions(source, z, 0.6, 2, torch.Generator().manual_seed(0), "toy", max_iters=200,
                                    tol=1e-10, provenance={"prompt": "p"})
    second, _ = loco_directions(source, z, 0.6, 2, torch.Generator().manual_seed(1), "toy", max_iters=200, tol=1e-10)
    for a, b in zip(first, second):
        assert torch.allclose(a.vector, b.vector, atol=1e-7)  # other random start, same vectors and signs
    _, values, _ = torch.linalg.svd(matrix)
    assert report["converged"] and report["singular_values"] == pytest.approx(values[:2].tolist(), rel=1e-9)
    assert first[1].provenance == {"prompt": "p", "k_index": 1, "singular_value": pytest.approx(float(values[1])),
                                   "mask": "none", "null_rank": 0, "iterations": report["iterations"],
                                   "converged": True}
    mask = torch.zeros(3, 3, dtype=torch.float64)
    mask[:2] = 1.0
    projected, report = loco_directions(source, z, 0.6, 2, torch.Generator().manual_seed(0), "toy", mask=mask,
                                        mask_kind="object", null_rank=3, max_iters=300, tol=1e-10, oversample=2)
    assert report["complement"]["converged"]
    complement = subspace_iteration(masked(source, 1.0 - mask), z, 3, torch.Generator().manual_seed(3),
                                    max_iters=300, tol=1e-10, oversample=2)
    basis = complement.vectors.reshape(3, -1)  # the complement's top 3, found again from another start
    for direction in projected:
        assert float((basis @ direction.vector.reshape(-1)).abs().max()) < 1e-6
        assert float(direction.vector.norm()) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="needs a region mask"):
        loco_directions(source, z, 0.6, 1, torch.Generator(), "toy", null_rank=2)


# ----- on a session of the tiny world model ------------------------------------------------------

@pytest.fixture()
def session(tiny_world, scene_image):
    return EditSession(tiny_world, scene_image, prompt="a large red circle at the top left on a white background")


def test_discovered_directions_carry_their_provenance(session, scene_image):
    directions, report = discover_directions(session, k=2, region="object", null_rank=1, max_iters=3)
    assert len(directions) == 2 and report["iterations"] <= 3 and report["complement"]["rank"] == 1
    config = session.config
    for i, direction in enumerate(directions):
        assert direction.model == "tiny-random-world" and direction.method == "loco"
        assert direction.noise_level == config.start_time and direction.vector.shape == (8, 16, 16)
        p = direction.provenance
        assert (p["k_index"], p["mask"], p["prompt"], p["t"]) == (i, "object", session.source_prompt,
                                                                   config.start_time)
        assert p["source_sha256"] == image_hash(session.image) and len(p["source_sha256"]) == 64
        assert p["singular_value"] == pytest.approx(report["singular_values"][i])
        # the whole image's ||J v|| (one JVP): the region's share of it is the singular value, so never less
        assert p["gain"] >= p["singular_value"] * (1 - 1e-3) > 0
    mask = region_mask(session, "object")
    assert mask.shape == (16, 16) and 0 < float(mask.sum()) < 256
    assert torch.equal(region_mask(session, "background"), 1.0 - mask)
    assert region_mask(session, "none") is None
    with pytest.raises(ValueError, match="unknown region"):
        region_mask(session, "sky")


def test_rendered_change_is_about_linear_in_small_strengths(session):
    direction = Direction(torch.ones(8, 16, 16) / 2048 ** 0.5, "tiny-random-world", session.config.start_time, "loco")
    zero, small, double = (r.latent for r in render_directions(session, [direction], [[0.0], [0.05], [0.1]]))
    first, second = small - zero, double - zero
    assert float(first.norm()) > 0
    assert float((second - 2 * first).norm()) < 2e-3 * float(second.norm())  # measured: 3e-4
    # The offset itself is exactly linear; strength 0 is the source latent itself (relative renders), and the raw
    # render's change from the zero-offset render is the relative one's change from the source.
    assert torch.allclose(direction.offset(0.1), 2 * direction.offset(0.05))
    source = session.backend.encode_image(pil_to_tensor(session.image))
    assert torch.allclose(zero, source, atol=1e-6)
    raw_zero, raw_small = (r.latent for r in render_directions(session, [direction], [[0.0], [0.05]], relative=False))
    assert torch.allclose(raw_zero, session.reconstruct(session.config.with_(sampler="inversion")).latent, atol=1e-6)
    assert torch.allclose(raw_small - raw_zero, first, atol=1e-6)
    assert not torch.allclose(raw_zero, source, atol=1e-3)  # the inversion alone does not give the source back


def test_directions_transfer_and_compose_through_sessions(tiny_world, session, blue_square):
    directions, _ = discover_directions(session, k=2, max_iters=2)
    other = EditSession(tiny_world, blue_square, prompt="a small blue square at the middle center on a black "
                                                        "background")
    both, one, two = render_directions(other, directions, [[1.0, 2.0], [1.0, 0.0], [0.0, 2.0]])
    base = other.reconstruct().latent
    assert both.latent.shape == (1, 8, 16, 16) and not torch.allclose(one.latent, base)
    # Composition adds the offsets before sampling; the small-strength responses nearly add up too.
    assert float((both.latent - base - (one.latent - base) - (two.latent - base)).norm()) < \
        0.03 * float((both.latent - base).norm())  # measured: 0.01


def test_a_direction_applies_only_at_its_noise_level_and_model(session):
    vector = torch.ones(8, 16, 16) / 2048 ** 0.5
    check_applicable(session, Direction(vector, "tiny-random-world", session.config.start_time, "loco"))
    with pytest.raises(ValueError, match="noise level 0.5"):
        render_directions(session, [Direction(vector, "tiny-random-world", 0.5, "loco")], [[1.0]])
    with pytest.raises(ValueError, match="belongs to model 'world'"):
        check_applicable(session, Direction(vector, "world", session.config.start_time, "loco"))
    with pytest.raises(ValueError, match="latent shape"):
        check_applicable(session, Direction(torch.ones(4, 4, 4) / 8, "tiny-random-world",
                                            session.config.start_time, "loco"))


def test_text_directions_on_the_session(session):
    tloco = text_direction(session, "tloco", "red", "blue")
    hsds = text_direction(session, "hsds", "red", "blue", cg_iters=2)
    sds = text_direction(session, "sds", "red", "blue")
    for direction, method in ((tloco, "tloco"), (hsds, "hsds"), (sds, "sds")):
        assert direction.method == method and direction.unit_strength > 0
        assert direction.provenance["target_prompt"] == "a large blue circle at the top left on a white background"
        assert float(direction.vector.norm()) == pytest.approx(1.0, abs=1e-5)
    session.set_attribute("colour", "red", "blue")
    results, found = render_text_edits(session, "tloco", [{"colour": 0.0}, {"colour": 1.0}])
    assert results[0].degrees == {"colour": 0.0} and torch.allclose(found["colour"].vector, tloco.vector, atol=1e-6)
    assert torch.allclose(results[0].latent, session.backend.encode_image(pil_to_tensor(session.image)), atol=1e-6)
    with pytest.raises(ValueError, match="unknown direction method"):
        text_direction(session, "ems", "red", "blue")
    with pytest.raises(ValueError, match="allowed range"):
        render_text_edits(session, "tloco", [{"colour": 5.0}])


def test_sds_direction_is_the_normalised_text_change(linear_pair):
    matrix, shift, source, target, _ = linear_pair
    z = torch.full((1, *SHAPE), 0.5, dtype=torch.float64)  # the point does not matter to a linear map; its norm 2.12
    direction = sds_direction(source, target, z, 0.6, "toy", provenance={"prompt": "p"})
    assert torch.allclose(direction.vector, shift[0] / shift.norm(), atol=1e-12)  # no Jacobian in the direction
    assert direction.unit_strength == pytest.approx(0.4 * float(z.norm()), rel=1e-12)  # a LOCO slider unit
    moved = matrix @ direction.vector.reshape(-1)  # the first-order match is kept for reference
    assert direction.provenance["matched_strength"] == pytest.approx(float(moved @ shift.reshape(-1) / (moved @ moved)),
                                                                     rel=1e-10)
    assert direction.method == "sds" and direction.provenance["prompt"] == "p" and direction.provenance["null_rank"] == 0
    mask = torch.tensor([[1.0, 0, 0], [1, 1, 0], [0, 0, 0]], dtype=torch.float64)
    local = sds_direction(source, target, z, 0.6, "toy", mask=mask, mask_kind="object")
    assert torch.allclose(local.vector, (mask * shift)[0] / (mask * shift).norm(), atol=1e-12)
    assert float(local.vector[:, 2, 2].abs().max()) == 0.0  # nothing outside the region
    basis = torch.zeros(1, *SHAPE, dtype=torch.float64)
    basis[0, 0, 0, 0] = 1.0
    projected = sds_direction(source, target, z, 0.6, "toy", mask=mask, complement_basis=basis)
    assert float(projected.vector[0, 0, 0]) == pytest.approx(0.0, abs=1e-12) and projected.provenance["null_rank"] == 1
    with pytest.raises(ValueError, match="no change"):
        sds_direction(source, source, z, 0.6, "toy")
    with pytest.raises(ValueError, match="latent is zero"):
        sds_direction(source, target, torch.zeros_like(z), 0.6, "toy")
