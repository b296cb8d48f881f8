import copy
from unittest import mock

import numpy as np
import pytest
import torch

from ems_core import Attribute
from ems_core.backends import load_backend
from ems_core.config import EditConfig
from ems_core.manipulate import manipulate_paths
from ems_core.sampling import difference_sample, guided_velocity, integrate, invert, source_path, tail_schedule
from ems_core.session import EditSession
from tests.conftest import SCENE_PROMPT

FAST = EditConfig(steps=6, start_time=0.7, inversion_fixed_point=1, refine_iters=2, guidance=2.0)


def encoded_prompts(spy) -> list[str]:
    """Every prompt a spied ``encode_prompt`` was asked for."""
    return [prompt for call in spy.call_args_list for prompt in call.args[0]]


def pixels(image) -> np.ndarray:
    return np.asarray(image, dtype=np.int16)


def test_second_render_reuses_the_inversion_and_spends_only_the_edit_nfe(tiny_world, scene_image):
    session = EditSession(tiny_world, scene_image, prompt=SCENE_PROMPT, config=FAST)
    session.set_attribute("colour", "red", "blue")
    first = session.render({"colour": 0.5})
    assert not first.cache_hit and first.prepare_nfe > 0 and session.preparations == 1
    second = session.render({"colour": 0.9})
    assert second.cache_hit and second.prepare_nfe == 0
    assert session.preparations == 1
    assert second.nfe == session.edit_nfe() == (len(tail_schedule(tiny_world.sigmas(6), 0.7)) - 1) * 2 + 2 * 2


def test_degree_zero_without_refinement_is_the_reconstruction(tiny_world, scene_image):
    session = EditSession(tiny_world, scene_image, prompt=SCENE_PROMPT, config=FAST)
    session.set_attribute("colour", "red", "blue")
    zero = session.render({"colour": 0.0})
    assert np.array_equal(pixels(zero.image), pixels(session.reconstruct().image))


def test_degree_one_samples_with_the_target_embedding_exactly(tiny_world, scene_image):
    """Both samplers at degree 1 are exactly their published update with e(1) = e_tgt."""
    for sampler in ("difference", "inversion"):
        config = FAST.with_(refine_iters=0, sampler=sampler, seed=5)
        session = EditSession(tiny_world, scene_image, prompt=SCENE_PROMPT, config=config)
        target_prompt = session.set_attribute("colour", "red", "blue")
        assert target_prompt == SCENE_PROMPT.replace("red", "blue")
        result = session.render({"colour": 1.0})
        with torch.no_grad():
            source, target, uncond = (tiny_world.encode_prompt([p]) for p in (SCENE_PROMPT, target_prompt, ""))
            times = tail_schedule(tiny_world.sigmas(6), 0.7)
            if sampler == "inversion":
                expected = integrate(guided_velocity(tiny_world, target, uncond, 2.0), session.inversion, times)
            else:
                x_src = session._latent
                path = source_path(guided_velocity(tiny_world, source, uncond, 2.0), x_src, times,
                                   torch.Generator().manual_seed(5), noise_grid=config.noise_grid)
                expected = difference_sample(guided_velocity(tiny_world, target, uncond, 2.0), x_src, path)
        assert torch.equal(result.latent, expected), sampler


def test_the_difference_sampler_returns_the_source_latent_at_degree_zero(tiny_world, scene_image):
    session = EditSession(tiny_world, scene_image, prompt=SCENE_PROMPT, config=FAST.with_(refine_iters=0))
    session.set_attribute("colour", "red", "blue")
    zero, one = session.render_batch([{"colour": 0.0}, {"colour": 1.0}])
    assert torch.allclose(zero.latent, session._latent, atol=1e-5)  # the two velocities cancel
    assert (one.latent - session._latent).abs().max() > 1e-2  # while the edit moves


def test_preview_and_full_settings_keep_their_own_source_side(tiny_world, scene_image):
    session = EditSession(tiny_world, scene_image, prompt=SCENE_PROMPT, config=FAST)
    session.set_attribute("colour", "red", "blue")
    preview = FAST.with_(steps=3, refine_iters=0)
    for degree in (0.2, 0.4, 0.6):
        session.render({"colour": degree}, config=preview)
        session.render({"colour": degree})
    assert session.preparations == 2  # one per schedule, neither evicted by the other


def test_a_latent_offset_samples_from_the_inversion(tiny_world, scene_image):
    session = EditSession(tiny_world, scene_image, prompt=SCENE_PROMPT, config=FAST)
    assert session.config.sampler == "difference" and session.inversion is None
    offset = torch.zeros_like(tiny_world.encode_image(torch.zeros(1, 3, 64, 64)))
    moved = session.render_batch([{}], refine=False, latent_offset=offset)[0]
    assert session.inversion is not None
    expected = session.render_batch([{}], config=FAST.with_(sampler="inversion"), refine=False)[0]
    assert torch.equal(moved.latent, expected.latent)


def test_changes_invalidate_exactly_what_they_touch(tiny_world, scene_image):
    session = EditSession(tiny_world, scene_image, prompt=SCENE_PROMPT, config=FAST)
    with mock.patch.object(tiny_world, "encode_prompt", wraps=tiny_world.encode_prompt) as spy:
        session.set_attribute("colour", "red", "blue")
        session.set_attribute("size", "large", "small")
        session.render({"colour": 0.5})
        assert sorted(encoded_prompts(spy)) == sorted(["", SCENE_PROMPT, SCENE_PROMPT.replace("red", "blue"),
                                                       SCENE_PROMPT.replace("large", "small")])
        spy.reset_mock()
        session.set_attribute("colour", "red", "green")  # only this attribute's embedding, and (both moving,
        session.render({"colour": 0.5, "size": 0.2})  # multilinear) the prompt with both phrases replaced
        both = SCENE_PROMPT.replace("red", "green").replace("large", "small")
        assert encoded_prompts(spy) == [SCENE_PROMPT.replace("red", "green"), both] and session.preparations == 1
        session.render({"colour": 0.5}, config=FAST.with_(start_time=0.5))  # inversion depends on t0
        assert session.preparations == 2
        spy.reset_mock()
        session.set_prompt(SCENE_PROMPT.replace("white", "black"))  # everything text-side
        session.render({"colour": 1.0})
        assert len(encoded_prompts(spy)) == 3 and session.preparations == 3


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
    with pytest.raises(ValueError, match="no prompt"):  # SD3 has no captioner of its own
        EditSession(load_backend("tiny-random-sd3"), scene_image)
    assert session.render({"colour": 0.5}).image.size == (64, 64)  # still usable after errors


def test_copies_share_the_backend_and_not_the_attributes(tiny_world, scene_image):
    session = EditSession(tiny_world, scene_image, prompt=SCENE_PROMPT, config=FAST)
    clone = copy.deepcopy(session)
    assert clone.backend is session.backend
    clone.set_attribute("colour", "red", "blue")
    assert "colour" not in session.attributes


def test_configure_is_atomic(tiny_world, scene_image):
    session = EditSession(tiny_world, scene_image, prompt=SCENE_PROMPT, config=FAST)
    session.set_attribute("colour", "red", "blue")
    session.render({"colour": 0.5})
    new_prompt = SCENE_PROMPT.replace("red", "green")
    with pytest.raises(ValueError, match="not in the prompt"):
        session.set_prompt(new_prompt)  # the colour attribute's "red" is gone from it
    assert session.source_prompt == SCENE_PROMPT and session.preparations == 1
    session.configure(new_prompt, [Attribute("colour", "green", "pink"), Attribute("size", "large", "small")])
    assert session.source_prompt == new_prompt and set(session.attributes) == {"colour", "size"}
    with pytest.raises(ValueError, match="two attributes"):
        session.configure(new_prompt, [Attribute("a", "green", "pink"), Attribute("a", "large", "small")])
    assert set(session.attributes) == {"colour", "size"}  # unchanged by the refused call


def test_gradients_flow_through_the_session_only_when_asked(tiny_world, scene_image):
    """d(edited latent)/d(latent offset at t0) exists with enable_grad and matches finite differences."""
    config = FAST.with_(refine_iters=1, sampler="inversion")
    session = EditSession(tiny_world, scene_image, prompt=SCENE_PROMPT, config=config)
    session.set_attribute("colour", "red", "blue")
    session.prepare()
    offset = torch.zeros_like(session.inversion, requires_grad=True)
    probe = torch.randn(session.inversion.shape, generator=torch.Generator().manual_seed(0))

    def objective(result) -> torch.Tensor:
        return (result.latent * probe).sum()

    result = session.render_batch([{"colour": 0.5}], latent_offset=offset, enable_grad=True)[0]
    (gradient,) = torch.autograd.grad(objective(result), offset)
    assert gradient.abs().sum() > 0
    direction = torch.randn(offset.shape, generator=torch.Generator().manual_seed(1))
    eps = 1e-2
    with torch.no_grad():
        plus = objective(session.render_batch([{"colour": 0.5}], latent_offset=eps * direction)[0])
        minus = objective(session.render_batch([{"colour": 0.5}], latent_offset=-eps * direction)[0])
    finite_difference = (plus - minus) / (2 * eps)
    assert torch.allclose((gradient * direction).sum(), finite_difference, rtol=5e-2, atol=1e-3)
    plain = session.render_batch([{"colour": 0.5}], latent_offset=offset)[0]  # gradients off by default
    assert plain.latent.grad_fn is None and session.inversion.grad_fn is None


def test_progress_reports_every_stage_and_can_stop_the_work(tiny_world, scene_image):
    session = EditSession(tiny_world, scene_image, prompt=SCENE_PROMPT, config=FAST)
    session.set_attribute("colour", "red", "blue")
    messages = []
    session.render({"colour": 0.5}, progress=lambda fraction, message: messages.append(message))
    assert {"following the source path", "sampling the edit", "refining the edit"} <= set(messages)
    session.render({"colour": 0.5}, config=FAST.with_(sampler="inversion"),
                   progress=lambda fraction, message: messages.append(message))
    assert "inverting the source image" in messages

    def stop_while_refining(fraction: float, message: str) -> None:
        if message == "refining the edit":
            raise InterruptedError("stopped")

    nfe = session.total_nfe
    with pytest.raises(InterruptedError):
        session.render({"colour": 0.7}, progress=stop_while_refining)
    assert session.total_nfe == nfe  # an interrupted move leaves the session as it was
    assert session.render({"colour": 0.7}).cache_hit


def test_revisiting_degrees_costs_no_evaluation(tiny_world, scene_image):
    session = EditSession(tiny_world, scene_image, prompt=SCENE_PROMPT, config=FAST)
    session.set_attribute("colour", "red", "blue")
    first = session.render({"colour": 0.5})
    session.render({"colour": 0.7})
    nfe = session.total_nfe
    again = session.render({"colour": 0.5})
    assert again.nfe == 0 and again.cache_hit and session.total_nfe == nfe and session.memo_hits == 1
    assert np.array_equal(pixels(again.image), pixels(first.image)) and torch.equal(again.latent, first.latent)
    assert session.render({"colour": 0.5}, config=FAST.with_(seed=3)).nfe > 0  # other settings: rendered
    session.set_attribute("colour", "red", "green")  # another target: the old renders no longer apply
    assert session.render({"colour": 0.5}).nfe > 0
    session.set_attribute("colour", "red", "blue")
    assert session.render({"colour": 0.5}).nfe == 0  # the blue renders are still remembered
    with pytest.raises(ValueError, match="allowed range"):
        session.render({"colour": 9.0})


def test_a_waypoint_is_rendered_exactly_at_its_degree(tiny_world, scene_image):
    """``top -> bottom`` through ``middle``: degree 0.5 renders the "middle" prompt itself."""
    prompt = SCENE_PROMPT
    session = EditSession(tiny_world, scene_image, prompt=prompt, config=FAST.with_(refine_iters=0))
    session.configure(prompt, [Attribute("size", "large", "small", via=("medium",))])
    assert session.attributes["size"].path_prompts(prompt) == [prompt.replace("large", "medium"),
                                                               prompt.replace("large", "small")]
    halfway = session.render({"size": 0.5})
    direct = EditSession(tiny_world, scene_image, prompt=prompt, config=FAST.with_(refine_iters=0))
    direct.configure(prompt, [Attribute("size", "large", "medium")])
    assert torch.equal(halfway.latent, direct.render({"size": 1.0}).latent)
    straight = EditSession(tiny_world, scene_image, prompt=prompt, config=FAST.with_(refine_iters=0))
    straight.configure(prompt, [Attribute("size", "large", "small")])
    assert not torch.equal(halfway.latent, straight.render({"size": 0.5}).latent)
    assert torch.equal(session.render({"size": 1.0}).latent, straight.render({"size": 1.0}).latent)


def test_a_source_guidance_of_its_own_changes_the_source_path_only(tiny_world, scene_image):
    same = EditSession(tiny_world, scene_image, prompt=SCENE_PROMPT, config=FAST.with_(refine_iters=0))
    same.set_attribute("colour", "red", "blue")
    explicit = EditSession(tiny_world, scene_image, prompt=SCENE_PROMPT,
                           config=FAST.with_(refine_iters=0, source_guidance=2.0))  # = guidance: the same edit
    explicit.set_attribute("colour", "red", "blue")
    assert torch.equal(same.render({"colour": 0.7}).latent, explicit.render({"colour": 0.7}).latent)


@pytest.mark.parametrize("ramp", [1.0, 0.5, 0.0])
def test_unequal_guidance_ramps_in_with_the_degree_and_degree_zero_stays_exact(tiny_world, scene_image, ramp):
    """Source side at 1.5, target side from 1.5 at degree 0 to 2.0 at |degree| >= ramp (ramped_guidance)."""
    config = FAST.with_(refine_iters=0, source_guidance=1.5, guidance_ramp=ramp, seed=3)
    session = EditSession(tiny_world, scene_image, prompt=SCENE_PROMPT, config=config)
    target_prompt = session.set_attribute("colour", "red", "blue")
    zero, half, one = session.render_batch([{"colour": 0.0}, {"colour": 0.5}, {"colour": -1.0}])
    assert torch.allclose(zero.latent, session._latent, atol=1e-5)  # the two sides cancel at degree 0
    with torch.no_grad():
        source, target, uncond = (tiny_world.encode_prompt([p]) for p in (SCENE_PROMPT, target_prompt, ""))
        times = tail_schedule(tiny_world.sigmas(6), 0.7)
        path = source_path(guided_velocity(tiny_world, source, uncond, 1.5), session._latent, times,
                           torch.Generator().manual_seed(3), noise_grid=config.noise_grid)
        for result, degree in ((half, 0.5), (one, -1.0)):
            embedding = manipulate_paths(source, [[target]], [degree])
            scale = 1.5 + min(1.0, abs(degree) / ramp if ramp else 1.0) * 0.5
            expected = difference_sample(guided_velocity(tiny_world, embedding, uncond, scale), session._latent, path)
            assert torch.allclose(result.latent, expected, atol=1e-5), (ramp, degree)
    assert one.nfe == zero.nfe == session.edit_nfe()  # a ramped row costs what any row costs


def test_the_inversion_sampler_inverts_under_the_source_guidance_and_ramps_the_edit(tiny_world, scene_image):
    config = FAST.with_(refine_iters=0, sampler="inversion", source_guidance=1.5, inversion_fixed_point=1)
    session = EditSession(tiny_world, scene_image, prompt=SCENE_PROMPT, config=config)
    target_prompt = session.set_attribute("colour", "red", "blue")
    one = session.render({"colour": 1.0})
    with torch.no_grad():
        source, target, uncond = (tiny_world.encode_prompt([p]) for p in (SCENE_PROMPT, target_prompt, ""))
        times = tail_schedule(tiny_world.sigmas(6), 0.7)
        inverted = invert(guided_velocity(tiny_world, source, uncond, 1.5), session._latent, times.flip(0), 1)
        expected = integrate(guided_velocity(tiny_world, target, uncond, 2.0), inverted, times)
    assert torch.equal(session.inversion, inverted)
    assert torch.allclose(one.latent, expected, atol=1e-6)


def test_two_attributes_at_degree_one_render_their_combined_prompt(tiny_world, scene_image):
    """Multilinear composition (the default): degrees (1, 1) are exactly the prompt with both phrases replaced,
    what a whole-prompt attribute to that prompt renders at 1; EMS's sum only approximates it."""
    prompt = "a large red circle at the middle center on a white background"
    both = EditSession(tiny_world, scene_image, prompt=prompt)
    both.set_attribute("colour", "red", "blue")
    both.set_attribute("background", "white background", "black background")
    whole = EditSession(tiny_world, scene_image, prompt=prompt)
    whole.set_attribute("scene", "", "a large blue circle at the middle center on a black background", full_prompt=True)
    config = EditConfig(steps=4, refine_iters=0)
    combined = both.render({"colour": 1.0, "background": 1.0}, config).image
    assert np.array_equal(np.asarray(combined), np.asarray(whole.render({"scene": 1.0}, config).image))
    summed = both.render({"colour": 1.0, "background": 1.0}, config.with_(composition="sum")).image
    assert not np.array_equal(np.asarray(summed), np.asarray(combined))
    one = both.render({"colour": 0.6}, config).image  # one attribute moved: the composition does not matter
    assert np.array_equal(np.asarray(one), np.asarray(both.render({"colour": 0.6}, config.with_(composition="sum")).image))
    with pytest.raises(ValueError, match="composition"):
        EditConfig(composition="product")


def test_configuring_the_same_rows_again_keeps_the_combined_prompts(tiny_world, scene_image):
    """The app configures its session on every move: with two sliders moving, the prompt with both phrases replaced
    is encoded once, not on every move."""
    from unittest import mock

    session = EditSession(tiny_world, scene_image, prompt=SCENE_PROMPT, config=FAST)
    rows = [Attribute("colour", "red", "blue"), Attribute("size", "large", "small")]
    session.configure(SCENE_PROMPT, rows)
    session.render({"colour": 0.5, "size": 0.5})
    with mock.patch.object(tiny_world, "encode_prompt", wraps=tiny_world.encode_prompt) as spy:
        session.configure(SCENE_PROMPT, rows)
        session.render({"colour": 0.7, "size": 0.3})
    assert spy.call_count == 0
