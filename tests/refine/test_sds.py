import torch

from ems_core.refine import refine_latent, sds_delta


def test_zero_sds_gradient_when_prompts_agree(tiny_world):
    e = tiny_world.encode_prompt(["a small blue star at the top left on a black background"])
    g = torch.Generator().manual_seed(0)
    z, eps = torch.randn(1, *tiny_world.latent_shape(), generator=g), torch.randn(1, *tiny_world.latent_shape(), generator=g)
    with torch.no_grad():
        delta = sds_delta(tiny_world, z, 0.5, eps, e, e)
    assert torch.count_nonzero(delta) == 0


def test_sds_gradient_nonzero_when_prompts_differ(tiny_world):
    src = tiny_world.encode_prompt(["a red circle"])
    tgt = tiny_world.encode_prompt(["a blue circle"])
    g = torch.Generator().manual_seed(0)
    z, eps = torch.randn(1, *tiny_world.latent_shape(), generator=g), torch.randn(1, *tiny_world.latent_shape(), generator=g)
    with torch.no_grad():
        assert sds_delta(tiny_world, z, 0.5, eps, tgt, src).abs().max() > 0


def test_proximity_alone_contracts_to_the_source(tiny_world):
    """With equal prompts only the proximity term acts: z - z_src shrinks by (1 - lr*lambda) per step."""
    e = tiny_world.encode_prompt(["a red circle"])
    g = torch.Generator().manual_seed(0)
    z, z_src = torch.randn(1, *tiny_world.latent_shape(), generator=g), torch.randn(1, *tiny_world.latent_shape(), generator=g)
    with torch.no_grad():
        out = refine_latent(tiny_world, z, z_src, e, e, iters=3, lr=0.5, proximity=0.4, t_max=0.6, t_min=0.2,
                            generator=torch.Generator().manual_seed(1))
    assert torch.allclose(out - z_src, (z - z_src) * 0.8**3, atol=1e-5)
