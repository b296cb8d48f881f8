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


def test_annealed_times_match_linspace_and_hit_both_ends():
    from ems_core.refine import annealed_time

    for iters in (1, 2, 5, 50):
        times = [annealed_time(i, iters, 0.6, 0.2) for i in range(iters)]
        expected = torch.linspace(0.6, 0.2, iters).tolist() if iters > 1 else [0.6]
        assert max(abs(a - b) for a, b in zip(times, expected)) < 1e-6
        assert times[0] == 0.6 and (iters == 1 or times[-1] == 0.2)


class _Stop(Exception):
    pass


def test_huge_iteration_count_allocates_nothing_before_the_first_step(tiny_world):
    """Defence in depth behind EditConfig's bound: no list of all noise levels is built up front."""
    import tracemalloc

    class StopAtFirstCall:
        def velocity(self, *args, **kwargs):
            raise _Stop

    e = tiny_world.encode_prompt(["a red circle"])
    z = torch.zeros(1, *tiny_world.latent_shape())
    tracemalloc.start()
    try:
        refine_latent(StopAtFirstCall(), z, z, e, e, iters=10**7, lr=0.5, proximity=0.2, t_max=0.6, t_min=0.2,
                      generator=torch.Generator().manual_seed(0))
    except _Stop:
        pass
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < 1_000_000, f"peak {peak} bytes"
