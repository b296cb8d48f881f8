import pytest
import torch

from ems_core.embeddings import PromptEmbedding
from ems_core.sampling import (euler_step, guided_velocity, integrate, invert, posterior_mean, shifted_sigmas,
                               tail_schedule)


def point_mass_velocity(x0: torch.Tensor):
    """Exact velocity of a flow whose data is the single point x0: v = (z - x0) / t."""
    return lambda z, t: (z - x0) / t.view(-1, 1, 1, 1)


def test_euler_is_exact_on_a_point_mass():
    x0 = torch.randn(2, 4, 3, 3, generator=torch.Generator().manual_seed(0))
    noise = torch.randn(2, 4, 3, 3, generator=torch.Generator().manual_seed(1))
    out = integrate(point_mass_velocity(x0), noise, shifted_sigmas(5))
    assert torch.allclose(out, x0, atol=1e-5)


def test_schedule_shape_and_tail():
    sigmas = shifted_sigmas(10, shift=3.0)
    assert sigmas[0] == 1.0 and sigmas[-1] == 0.0 and torch.all(sigmas[1:] < sigmas[:-1])
    tail = tail_schedule(sigmas, 0.7)
    assert tail[0].item() == pytest.approx(0.7) and tail[-1] == 0.0 and torch.all(tail[1:] < 0.7)


def nonlinear_velocity(z, t):
    return torch.sin(2 * z) * (1 + t.view(-1, 1, 1, 1)) + 0.5 * z


def test_fixed_point_inversion_is_exact_for_the_sampler():
    z0 = torch.randn(1, 2, 4, 4, generator=torch.Generator().manual_seed(0))
    times = tail_schedule(shifted_sigmas(8), 0.6)
    errors = {}
    for iters in (0, 2, 10):
        z_t = invert(nonlinear_velocity, z0, times.flip(0), fixed_point_iters=iters)
        errors[iters] = (integrate(nonlinear_velocity, z_t, times) - z0).abs().max().item()
    assert errors[10] < errors[2] < errors[0]
    assert errors[10] < 1e-4


def test_guided_velocity_formula(tiny_world):
    cond, uncond = tiny_world.encode_prompt(["a red circle"]), tiny_world.encode_prompt([""])
    z = torch.randn(2, *tiny_world.latent_shape(), generator=torch.Generator().manual_seed(0))
    t = torch.full((2,), 0.5)
    with torch.no_grad():
        v_c = tiny_world.velocity(z, t, cond.repeat(2))
        v_u = tiny_world.velocity(z, t, uncond.repeat(2))
        assert torch.allclose(guided_velocity(tiny_world, cond)(z, t), v_c, atol=1e-5)
        guided = guided_velocity(tiny_world, cond, uncond, 3.0)(z, t)
    assert torch.allclose(guided, v_u + 3.0 * (v_c - v_u), atol=1e-4)


def test_embedding_arithmetic_does_not_mutate():
    a = PromptEmbedding(torch.ones(1, 2, 3), torch.ones(1, 3))
    b = PromptEmbedding(torch.zeros(1, 2, 3), torch.full((1, 3), 2.0))
    c = a + (b - a) * 0.5
    assert torch.all(a.tokens == 1) and torch.allclose(c.pooled, torch.full((1, 3), 1.5))


def test_euler_step_and_posterior_mean_known_answers():
    z0, eps = torch.full((2, 1, 2, 2), 3.0), torch.full((2, 1, 2, 2), -1.0)
    t = torch.tensor([0.25, 0.75])
    z_t = (1 - t.view(-1, 1, 1, 1)) * z0 + t.view(-1, 1, 1, 1) * eps
    v = eps - z0  # the exact velocity of a point mass
    assert torch.allclose(posterior_mean(z_t, t, v), z0)
    assert torch.allclose(euler_step(z_t, v, -0.25), (1 - (t - 0.25)).view(-1, 1, 1, 1) * z0
                          + (t - 0.25).view(-1, 1, 1, 1) * eps)
    half = euler_step(z_t.half(), v, 0.1)
    assert half.dtype == torch.float16
