import torch

from ems_core.sampling import source_path
from ems_core.sampling.difference import centred_noise


def test_centred_noise_has_no_mean_per_map_and_is_otherwise_the_seeded_draw():
    noise = centred_noise((4, 8, 32, 32), torch.Generator().manual_seed(0))
    raw = torch.randn((4, 8, 32, 32), generator=torch.Generator().manual_seed(0))
    assert noise.mean(dim=(-2, -1)).abs().max() < 1e-6
    assert raw.mean(dim=(-2, -1)).abs().max() > 1e-2  # what was removed: not nothing
    assert torch.allclose(noise, raw - raw.mean(dim=(-2, -1), keepdim=True))
    assert torch.equal(noise, centred_noise((4, 8, 32, 32), torch.Generator().manual_seed(0)))  # seeded


def test_the_source_path_noises_the_source_with_centred_noise():
    x_src = torch.randn((1, 3, 8, 8), generator=torch.Generator().manual_seed(1)) + 2.0
    times = torch.tensor([0.9, 0.5, 0.2, 0.0])
    path = source_path(lambda z, t: torch.zeros_like(z), x_src, times, torch.Generator().manual_seed(3))
    levels = times[:-1].view(-1, 1, 1, 1)
    noise = (path.noisy - (1 - levels) * x_src) / levels
    assert torch.allclose(noise, centred_noise((3, 3, 8, 8), torch.Generator().manual_seed(3)), atol=1e-5)
    # the noisy source keeps the source's own mean per map: the noise adds none
    expected_means = (1 - times[:-1].view(-1, 1)) * x_src.mean(dim=(-2, -1))  # (steps, C)
    assert torch.allclose(path.noisy.mean(dim=(-2, -1)), expected_means, atol=1e-5)
