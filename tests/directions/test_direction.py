import pytest
import torch

from ems_core.directions import Direction, compose


def unit(seed: int) -> torch.Tensor:
    v = torch.randn(4, 2, 2, generator=torch.Generator().manual_seed(seed))
    return v / v.norm()


def test_apply_is_linear_in_the_strength():
    direction = Direction(unit(0), "world", 0.6, "loco")
    z = torch.randn(3, 4, 2, 2, generator=torch.Generator().manual_seed(9))
    assert torch.allclose(direction.apply(z, 0.0), z)
    step = direction.apply(z, 1.0) - z
    assert torch.allclose(direction.apply(z, 2.5) - z, 2.5 * step, atol=1e-6)
    assert torch.allclose(step[0], direction.vector)


def test_compose_adds_offsets_and_refuses_mixed_spaces():
    a, b = Direction(unit(0), "world", 0.6, "loco"), Direction(unit(1), "world", 0.6, "tloco")
    assert torch.allclose(compose([a, b], [1.0, -2.0]), a.offset(1.0) + b.offset(-2.0))
    with pytest.raises(ValueError, match="do not compose"):
        compose([a, Direction(unit(1), "world", 0.5, "loco")], [1.0, 1.0])
    with pytest.raises(ValueError, match="one strength per direction"):
        compose([a], [])
    with pytest.raises(ValueError, match="one latent"):
        Direction(torch.zeros(1, 4, 2, 2), "world", 0.6, "loco")
