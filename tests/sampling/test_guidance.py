import pytest
import torch

from ems_core.sampling import guided_velocity, ramped_guidance


def test_ramped_guidance_rises_from_the_source_side_to_the_target_side():
    assert ramped_guidance(3.0, 1.5, 1.0, 0.0) == 1.5  # degree 0: both sides the same evaluation
    assert ramped_guidance(3.0, 1.5, 1.0, 0.5) == pytest.approx(2.25)
    assert ramped_guidance(3.0, 1.5, 1.0, 1.0) == ramped_guidance(3.0, 1.5, 1.0, 1.7) == 3.0
    assert ramped_guidance(3.0, 1.5, 0.5, 0.25) == pytest.approx(2.25)
    assert ramped_guidance(3.0, 1.5, 0.0, 0.01) == 3.0 and ramped_guidance(3.0, 1.5, 0.0, 0.0) == 1.5  # a step
    with pytest.raises(ValueError, match="largest"):
        ramped_guidance(3.0, 1.5, 1.0, -0.5)


def test_one_guidance_per_row_is_each_row_guided_on_its_own(tiny_world):
    cond, uncond = tiny_world.encode_prompt(["a small red circle"]), tiny_world.encode_prompt([""])
    z = torch.randn((3, *tiny_world.encode_image(torch.zeros(1, 3, 64, 64)).shape[1:]),
                    generator=torch.Generator().manual_seed(1))
    t = torch.full((3,), 0.6)
    with torch.no_grad():
        rows = guided_velocity(tiny_world, cond, uncond, [1.5, 3.0, 1.0])(z, t)
        for i, scale in enumerate((1.5, 3.0, 1.0)):
            alone = guided_velocity(tiny_world, cond, uncond, scale)(z[i:i + 1], t[i:i + 1])
            assert torch.allclose(rows[i:i + 1], alone, atol=1e-5), scale
        assert torch.equal(guided_velocity(tiny_world, cond, uncond, [2.0] * 3)(z, t),
                           guided_velocity(tiny_world, cond, uncond, 2.0)(z, t))  # equal scales: the plain path
        with pytest.raises(ValueError, match="2 guidance scales for a batch of 3"):
            guided_velocity(tiny_world, cond, uncond, [1.5, 3.0])(z, t)
