import pytest
import torch

from ems_core.sampling import source_path
from ems_core.sampling.difference import block_average, coarse_free_noise


def _block_means(noise: torch.Tensor, grid: int) -> torch.Tensor:
    """The mean of each block, position p of a side of n in block floor(p grid / n), by masks."""
    h, w = noise.shape[-2:]
    rows, cols = torch.arange(h) * grid // h, torch.arange(w) * grid // w
    return torch.stack([noise[..., rows == i, :][..., cols == j].mean((-2, -1))
                        for i in range(grid) for j in range(grid)], dim=-1)


@pytest.mark.parametrize("size, grid", [((32, 32), 4), ((32, 32), 1), ((16, 16), 4), ((12, 20), 3)])
def test_coarse_free_noise_has_no_block_means_and_is_otherwise_the_seeded_draw(size, grid):
    noise = coarse_free_noise((4, 8, *size), torch.Generator().manual_seed(0), grid)
    raw = torch.randn((4, 8, *size), generator=torch.Generator().manual_seed(0))
    assert _block_means(noise, grid).abs().max() < 1e-5
    assert _block_means(raw, grid).abs().max() > 1e-2  # what was removed: not nothing
    assert torch.allclose(noise - raw, -(block_average(size[0], grid) @ raw @ block_average(size[1], grid).T),
                          atol=1e-6)  # only the block means changed
    assert torch.equal(noise, coarse_free_noise((4, 8, *size), torch.Generator().manual_seed(0), grid))  # seeded


def test_grid_one_centres_each_map_and_grid_zero_is_the_raw_draw():
    raw = torch.randn((2, 3, 8, 8), generator=torch.Generator().manual_seed(4))
    one = coarse_free_noise((2, 3, 8, 8), torch.Generator().manual_seed(4), 1)
    assert torch.allclose(one, raw - raw.mean(dim=(-2, -1), keepdim=True), atol=1e-6)
    assert torch.equal(coarse_free_noise((2, 3, 8, 8), torch.Generator().manual_seed(4), 0), raw)


def test_block_average_is_a_projection_onto_block_constants():
    a = block_average(10, 3)
    assert torch.allclose(a @ a, a, atol=1e-6)
    assert torch.allclose(a.sum(dim=1), torch.ones(10))
    assert block_average(5, 8).equal(torch.eye(5))  # more blocks than entries: every entry its own block


def test_the_source_path_noises_the_source_with_coarse_free_noise():
    x_src = torch.randn((1, 3, 8, 8), generator=torch.Generator().manual_seed(1)) + 2.0
    times = torch.tensor([0.9, 0.5, 0.2, 0.0])
    path = source_path(lambda z, t: torch.zeros_like(z), x_src, times, torch.Generator().manual_seed(3),
                       noise_grid=2)
    levels = times[:-1].view(-1, 1, 1, 1)
    noise = (path.noisy - (1 - levels) * x_src) / levels
    assert torch.allclose(noise, coarse_free_noise((3, 3, 8, 8), torch.Generator().manual_seed(3), 2), atol=1e-5)
    # the noisy source keeps the source's own block means: the noise adds none
    assert torch.allclose(_block_means(path.noisy, 2), (1 - levels.view(-1, 1, 1)) * _block_means(x_src, 2),
                          atol=1e-5)
