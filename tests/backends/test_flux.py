"""Flux backend on tiny random components: the contract, latent packing, gradients, and parity with
diffusers' FluxPipeline (dev-like with guidance embedding, schnell-like without)."""

from __future__ import annotations

import pytest
import torch
from diffusers import FluxPipeline

from ems_core.embeddings import PromptEmbedding
from ems_core.backends.flux import FluxBackend, pack_latents, unpack_latents
from ems_core.backends.tiny import (
    TINY_IMAGE_SIZE,
    TINY_MAX_SEQUENCE_LENGTH,
    tiny_flux_components,
    tiny_random_flux,
)
from ems_core.sampling import guided_velocity, initial_noise, integrate

PROMPT = "a photo of a smiling cat"
SIZE = TINY_IMAGE_SIZE


def make(guidance_embeds: bool) -> tuple[FluxBackend, FluxPipeline]:
    components = tiny_flux_components(seed=0, guidance_embeds=guidance_embeds)
    backend = FluxBackend(**components, max_sequence_length=TINY_MAX_SEQUENCE_LENGTH, image_size=SIZE)
    pipeline = FluxPipeline(**components)
    pipeline.set_progress_bar_config(disable=True)
    return backend, pipeline


@pytest.fixture(scope="module")
def dev() -> tuple[FluxBackend, FluxPipeline]:
    return make(guidance_embeds=True)


@pytest.fixture(scope="module")
def backend(dev) -> FluxBackend:
    return dev[0]


def test_preset_info():
    backend = tiny_random_flux()
    assert backend.info.family == "flux" and backend.info.name == "tiny-random-flux"
    assert backend.info.image_size == SIZE and backend.info.default_guidance == 1.0
    assert backend.info.extras["embedded_guidance"] == 3.5
    assert backend.latent_shape() == (4, SIZE, SIZE)
    assert not any(p.requires_grad for p in backend.transformer.parameters())


def test_contract_shapes(backend: FluxBackend):
    emb = backend.encode_prompt([PROMPT, ""])
    assert emb.tokens.shape == (2, TINY_MAX_SEQUENCE_LENGTH, 32) and emb.pooled.shape == (2, 32)
    x = torch.rand(2, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(1)) * 2 - 1
    z = backend.encode_image(x)
    assert z.shape == (2, 4, SIZE, SIZE)
    out = backend.decode_latent(z)
    assert out.shape == x.shape and out.min() >= -1 and out.max() <= 1
    v = backend.velocity(z, torch.tensor([0.3, 0.9]), emb)
    assert v.shape == z.shape and torch.isfinite(v).all()
    with pytest.raises(ValueError, match="even"):
        backend.velocity(z[..., :-1], torch.tensor([0.3, 0.9]), emb)


def test_packing_matches_the_pipeline():
    z = torch.randn(2, 4, 6, 8)
    packed = pack_latents(z)
    assert torch.equal(packed, FluxPipeline._pack_latents(z, 2, 4, 6, 8))
    assert torch.equal(unpack_latents(packed, 6, 8), z)


def test_sigmas(dev):
    backend, pipeline = dev
    for n in (1, 4, 28):
        sigmas = backend.sigmas(n)
        assert sigmas.shape == (n + 1,) and sigmas.dtype == torch.float32
        assert sigmas[0] == 1.0 and sigmas[-1] == 0.0 and torch.all(sigmas[1:] < sigmas[:-1])
    # The schedule the pipeline really used (its scheduler is left set after a call), at two sizes:
    # the shift mu depends on the image sequence length.
    for size in (SIZE, 2 * SIZE):
        pipeline(PROMPT, num_inference_steps=5, height=size, width=size, output_type="latent",
                 max_sequence_length=TINY_MAX_SEQUENCE_LENGTH)
        assert torch.equal(backend.sigmas(5, height=size, width=size), pipeline.scheduler.sigmas)
    assert not torch.equal(backend.sigmas(5), backend.sigmas(5, height=2 * SIZE, width=2 * SIZE))


@pytest.mark.parametrize("guidance_embeds,true_cfg", [(True, 1.0), (True, 2.0), (False, 1.0)])
def test_sampling_parity_with_diffusers(dev, guidance_embeds: bool, true_cfg: float):
    """Our Euler loop reproduces FluxPipeline: plain, with true CFG against "", and schnell-like."""
    backend, pipeline = dev if guidance_embeds else make(guidance_embeds=False)
    steps = 3
    kwargs = dict(prompt=PROMPT, negative_prompt="", true_cfg_scale=true_cfg, num_inference_steps=steps,
                  guidance_scale=3.5, height=SIZE, width=SIZE, max_sequence_length=TINY_MAX_SEQUENCE_LENGTH)
    packed = pipeline(**kwargs, generator=torch.Generator("cpu").manual_seed(0), output_type="latent").images
    expected = unpack_latents(packed, SIZE, SIZE)
    generator = torch.Generator("cpu").manual_seed(0)
    expected_images = pipeline(**kwargs, generator=generator, output_type="pt").images

    noise = initial_noise((1, *backend.latent_shape()), seed=0)
    cond, uncond = backend.encode_prompt([PROMPT]), backend.encode_prompt([""])
    velocity = guided_velocity(backend, cond, uncond, true_cfg)
    latents = integrate(velocity, noise, backend.sigmas(steps))
    diff = (latents - expected).abs().max().item()
    assert diff <= 1e-4, f"latent max abs diff {diff}"
    image_diff = ((backend.decode_latent(latents) + 1) / 2 - expected_images).abs().max().item()
    assert image_diff <= 1e-4, f"image max abs diff {image_diff}"


def test_schnell_like_has_no_embedded_guidance():
    backend, _ = make(guidance_embeds=False)
    assert backend.info.extras["embedded_guidance"] is None and backend.info.default_steps == 4


def test_gradients_flow_through_velocity(backend: FluxBackend):
    z = torch.randn(1, 4, SIZE, SIZE, requires_grad=True)
    emb = backend.encode_prompt([PROMPT])
    pooled = emb.pooled.clone().requires_grad_(True)
    v = backend.velocity(z, torch.tensor([0.5]), PromptEmbedding(emb.tokens, pooled))
    v.square().mean().backward()
    assert z.grad is not None and torch.isfinite(z.grad).all() and z.grad.abs().sum() > 0
    assert pooled.grad is not None and pooled.grad.abs().sum() > 0
