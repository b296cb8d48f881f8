import copy

import numpy as np
import pytest
import torch

from ems_core.config import EditConfig
from ems_core.sampling import guided_velocity, integrate, tail_schedule
from ems_core.session import EditSession
from tests.conftest import SCENE_PROMPT

FAST = EditConfig(steps=6, start_time=0.7, inversion_fixed_point=1, refine_iters=2, guidance=2.0)


class CountingPrompts:
    """Wraps a backend and counts encode_prompt calls per prompt (to check what a change recomputes)."""

    def __init__(self, backend):
        self.backend, self.calls = backend, []

    def encode_prompt(self, prompts):
        self.calls.extend(prompts)
        return self.backend.encode_prompt(prompts)

    def __getattr__(self, name):
        return getattr(self.backend, name)


def pixels(image) -> np.ndarray:
    return np.asarray(image, dtype=np.int16)


def test_second_render_reuses_the_inversion_and_spends_only_the_edit_nfe(tiny_world, scene_image):
    session = EditSession(tiny_world, scene_image, prompt=SCENE_PROMPT, config=FAST)
    session.set_attribute("colour", "red", "blue")
    first = session.render({"colour": 0.5})
    assert not first.cache_hit and first.prepare_nfe > 0 and session.inversions_computed == 1
    second = session.render({"colour": 0.9})
    assert second.cache_hit and second.prepare_nfe == 0
    assert session.inversions_computed == 1
    assert second.nfe == session.edit_nfe() == (len(tail_schedule(tiny_world.sigmas(6), 0.7)) - 1) * 2 + 2 * 2


def test_degree_zero_without_refinement_is_the_reconstruction(tiny_world, scene_image):
    session = EditSession(tiny_world, scene_image, prompt=SCENE_PROMPT, config=FAST)
    session.set_attribute("colour", "red", "blue")
    zero = session.render({"colour": 0.0})
    assert np.array_equal(pixels(zero.image), pixels(session.reconstruct().image))


def test_degree_one_samples_with_the_target_embedding_exactly(tiny_world, scene_image):
    config = FAST.with_(refine_iters=0)
    session = EditSession(tiny_world, scene_image, prompt=SCENE_PROMPT, config=config)
    target_prompt = session.set_attribute("colour", "red", "blue")
    assert target_prompt == SCENE_PROMPT.replace("red", "blue")
    result = session.render({"colour": 1.0})
    with torch.no_grad():
        target = tiny_world.encode_prompt([target_prompt])
        uncond = tiny_world.encode_prompt([""])
        z_t0 = session._inversion[1]
        expected = integrate(guided_velocity(tiny_world, target, uncond, 2.0), z_t0,
                             tail_schedule(tiny_world.sigmas(6), 0.7))
    assert torch.equal(result.latent, expected)


def test_changes_invalidate_exactly_what_they_touch(tiny_world, scene_image):
    backend = CountingPrompts(tiny_world)
    session = EditSession(backend, scene_image, prompt=SCENE_PROMPT, config=FAST)
    session.set_attribute("colour", "red", "blue")
    session.set_attribute("size", "large", "small")
    session.render({"colour": 0.5})
    assert sorted(backend.calls) == sorted(["", SCENE_PROMPT, SCENE_PROMPT.replace("red", "blue"),
                                            SCENE_PROMPT.replace("large", "small")])
    backend.calls.clear()
    session.set_attribute("colour", "red", "green")  # only this attribute's embedding
    session.render({"colour": 0.5, "size": 0.2})
    assert backend.calls == [SCENE_PROMPT.replace("red", "green")] and session.inversions_computed == 1
    session.render({"colour": 0.5}, config=FAST.with_(start_time=0.5))  # inversion depends on t0
    assert session.inversions_computed == 2
    backend.calls.clear()
    session.set_prompt(SCENE_PROMPT.replace("white", "black"))  # everything text-side
    session.render({"colour": 1.0})
    assert len(backend.calls) == 3 and session.inversions_computed == 3


def test_batch_render_matches_single_renders(tiny_world, scene_image):
    session = EditSession(tiny_world, scene_image, prompt=SCENE_PROMPT, config=FAST)
    session.set_attribute("colour", "red", "blue")
    batch = session.render_batch([{"colour": 0.0}, {"colour": 0.6}])
    single = session.render({"colour": 0.6})
    assert torch.allclose(batch[1].latent, single.latent, atol=1e-4)
    assert np.array_equal(pixels(batch[0].image), pixels(session.reconstruct().image))


def test_clear_errors(tiny_world, scene_image):
    session = EditSession(tiny_world, scene_image, prompt=SCENE_PROMPT, config=FAST)
    with pytest.raises(ValueError, match="not in the prompt"):
        session.set_attribute("colour", "purple", "blue")
    with pytest.raises(KeyError, match="unknown attribute"):
        session.render({"nope": 0.5})
    session.set_attribute("colour", "red", "blue")
    with pytest.raises(ValueError, match="allowed range"):
        session.render({"colour": 5.0})
    assert EditSession(tiny_world, scene_image).source_prompt == SCENE_PROMPT  # the world captioner
    sd3_like = type("NoCaptioner", (), {"info": tiny_world.info.__class__(
        name="x", family="sd3", image_size=64, default_steps=4, default_guidance=1.0)})()
    with pytest.raises(ValueError, match="no prompt"):
        EditSession(sd3_like, scene_image)
    assert session.render({"colour": 0.5}).image.size == (64, 64)  # still usable after errors


def test_copies_share_the_backend_and_not_the_attributes(tiny_world, scene_image):
    session = EditSession(tiny_world, scene_image, prompt=SCENE_PROMPT, config=FAST)
    clone = copy.deepcopy(session)
    assert clone.backend is session.backend
    clone.set_attribute("colour", "red", "blue")
    assert "colour" not in session.attributes
