"""The baselines on the tiny random world model: known answers (no edit when the prompts agree), evaluation
counts, seeded determinism and sweeps equal to their single calls."""

import pytest
import torch

from ems_core.backends import CountingBackend
from ems_core.baselines import (BASELINES, FlowEditSettings, InvertResampleSettings, RefineOnlySettings,
                                RegenerateSettings, SDEditSettings, default_settings, flowedit, invert_resample,
                                refine_only, regenerate, sdedit)
from ems_core.embeddings import PromptEmbedding
from ems_core.images import pil_to_tensor

SOURCE = "a large red circle at the top left on a white background"
TARGET = "a large blue circle at the top left on a white background"


@pytest.fixture(scope="module")
def inputs(tiny_world, scene_image):
    with torch.no_grad():
        latent = tiny_world.encode_image(pil_to_tensor(scene_image))
        source, target, uncond = (tiny_world.encode_prompt([p]) for p in (SOURCE, TARGET, ""))
    return latent, source, target, uncond


def generator(seed=0):
    return torch.Generator("cpu").manual_seed(seed)


@torch.no_grad()
def test_flowedit_with_equal_prompts_and_guidance_returns_the_source(tiny_world, inputs):
    latent, source, _, uncond = inputs
    settings = FlowEditSettings(steps=6, skip=1, source_guidance=2.0, target_guidance=2.0)
    out = flowedit(tiny_world, latent, source, source, uncond, settings, generator())
    assert torch.allclose(out, latent, atol=1e-5)


@torch.no_grad()
def test_flowedit_counts_and_moves_toward_the_target(tiny_world, inputs):
    latent, source, target, uncond = inputs
    settings = FlowEditSettings(steps=6, skip=2, source_guidance=1.5, target_guidance=3.0)
    counted = CountingBackend(tiny_world)
    out = flowedit(counted, latent, source, target, uncond, settings, generator())
    assert counted.evaluations == 4 * (6 - 2)  # [uncond, source] at z_src + [uncond, target] at z_tgt per step
    assert out.shape == latent.shape and not torch.allclose(out, latent)


@torch.no_grad()
def test_refine_only_with_equal_prompts_stays_at_the_source(tiny_world, inputs):
    latent, source, _, uncond = inputs
    counted = CountingBackend(tiny_world)
    out = refine_only(counted, latent, source, source, uncond, RefineOnlySettings(iters=3), generator())
    assert torch.equal(out, latent.expand_as(out))  # zero delta, zero proximity pull
    assert counted.evaluations == 2 * 3


@torch.no_grad()
@pytest.mark.parametrize("name,settings,nfe", [
    ("sdedit", SDEditSettings(steps=5, start_time=0.8, guidance=2.0), 4 * 2),
    ("invert-resample", InvertResampleSettings(steps=5, start_time=0.8, guidance=2.0), 4 + 4 * 2),
    ("regenerate", RegenerateSettings(steps=4, guidance=3.0), 4 * 2),
    ("flowedit", FlowEditSettings(steps=5, skip=1), 4 * 4),
    ("refine-only", RefineOnlySettings(iters=2), 2 * 2),
])
def test_seeded_sweeps_equal_single_calls(tiny_world, inputs, name, settings, nfe):
    latent, source, target, uncond = inputs
    edit = BASELINES[name]
    counted = CountingBackend(tiny_world)
    single = edit(counted, latent, source, target, uncond, settings, generator(3))
    assert counted.evaluations == nfe
    again = edit(tiny_world, latent, source, target, uncond, settings, generator(3))
    assert torch.equal(single, again)  # the generator is the only randomness
    half = source + (target - source) * 0.5
    sweep = edit(tiny_world, latent, source, PromptEmbedding.cat([half, target]), uncond, settings, generator(3))
    assert sweep.shape[0] == 2
    assert torch.allclose(sweep[1:], single, atol=1e-5)  # one noise draw shared by the batch


@torch.no_grad()
def test_sdedit_depends_on_the_seed_and_invert_resample_does_not(tiny_world, inputs):
    latent, source, target, uncond = inputs
    settings = SDEditSettings(steps=5, start_time=0.8)
    assert not torch.allclose(sdedit(tiny_world, latent, source, target, uncond, settings, generator(1)),
                              sdedit(tiny_world, latent, source, target, uncond, settings, generator(2)))
    settings = InvertResampleSettings(steps=5, start_time=0.8)
    assert torch.equal(invert_resample(tiny_world, latent, source, target, uncond, settings, generator(1)),
                       invert_resample(tiny_world, latent, source, target, uncond, settings, generator(2)))
    out = regenerate(tiny_world, latent, source, target, uncond, RegenerateSettings(steps=3), generator(1))
    assert out.shape == latent.shape


def test_default_settings_follow_the_backend(tiny_world):
    info = tiny_world.info
    assert default_settings("sdedit", info).start_time == info.edit_config.start_time
    assert default_settings("invert-resample", info).steps == info.default_edit_steps
    assert default_settings("regenerate", info) == RegenerateSettings(info.default_steps, info.default_guidance)
    assert isinstance(default_settings("flowedit", info), FlowEditSettings)
    assert default_settings("refine-only", info).lr == info.edit_config.refine_lr
    with pytest.raises(KeyError):
        default_settings("nope", info)
    with pytest.raises(ValueError):
        FlowEditSettings(steps=4, skip=4)
