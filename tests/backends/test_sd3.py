"""SD3 backend on tiny random components: the contract, gradients, and parity with diffusers' pipeline."""

from __future__ import annotations

import pytest
import torch
from diffusers import FlowMatchEulerDiscreteScheduler, StableDiffusion3Pipeline

from ems_core.embeddings import PromptEmbedding
from ems_core.backends.sd3 import SD3Backend
from ems_core.backends.tiny import (
    TINY_IMAGE_SIZE,
    TINY_MAX_SEQUENCE_LENGTH,
    tiny_random_sd3,
    tiny_sd3_components,
)
from ems_core.sampling import guided_velocity, initial_noise, integrate

PROMPT = "a photo of a smiling cat"
SIZE = TINY_IMAGE_SIZE


@pytest.fixture(scope="module")
def components() -> dict:
    return tiny_sd3_components(seed=0)


@pytest.fixture(scope="module")
def backend(components: dict) -> SD3Backend:
    return SD3Backend(**components, max_sequence_length=TINY_MAX_SEQUENCE_LENGTH, image_size=SIZE)


@pytest.fixture(scope="module")
def pipeline(components: dict) -> StableDiffusion3Pipeline:
    pipe = StableDiffusion3Pipeline(**components)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def images(batch: int = 2) -> torch.Tensor:
    return torch.rand(batch, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(1)) * 2 - 1


def test_preset_info_and_frozen_models():
    backend = tiny_random_sd3()
    assert backend.info.family == "sd3" and backend.info.name == "tiny-random-sd3"
    assert backend.info.image_size == SIZE and backend.info.default_steps == 28
    assert backend.dtype == torch.float32 and backend.device == torch.device("cpu")
    assert backend.latent_shape() == (4, SIZE, SIZE)
    for module in (backend.transformer, backend.vae):
        assert not module.training
        assert not any(p.requires_grad for p in module.parameters())


def test_contract_shapes(backend: SD3Backend):
    emb = backend.encode_prompt([PROMPT, ""])
    assert emb.tokens.shape == (2, 77 + TINY_MAX_SEQUENCE_LENGTH, 32)  # CLIP tokens then T5 tokens
    assert emb.pooled.shape == (2, 64)
    x = images()
    z = backend.encode_image(x)
    assert z.shape == (2, 4, SIZE, SIZE)
    out = backend.decode_latent(z)
    assert out.shape == x.shape and out.min() >= -1 and out.max() <= 1
    v = backend.velocity(z, torch.tensor([0.3, 0.9]), emb)
    assert v.shape == z.shape and v.dtype == z.dtype and torch.isfinite(v).all()
    # A scalar time broadcasts over the batch.
    assert torch.allclose(backend.velocity(z, torch.tensor(0.9), emb)[1], v[1], atol=1e-6)


def test_vae_scaling_is_the_pipelines(backend: SD3Backend):
    x = images(1)
    cfg = backend.vae.config
    expected = (backend.vae.encode(x).latent_dist.mean - cfg.shift_factor) * cfg.scaling_factor
    z = backend.encode_image(x)
    assert torch.allclose(z, expected)
    decoded = backend.vae.decode(z / cfg.scaling_factor + cfg.shift_factor).sample.clamp(-1, 1)
    assert torch.allclose(backend.decode_latent(z), decoded)


def test_outputs_follow_input_dtype(backend: SD3Backend):
    z = torch.randn(1, 4, SIZE, SIZE, dtype=torch.float64)
    v = backend.velocity(z, torch.tensor([0.5]), backend.encode_prompt([""]))
    assert v.dtype == torch.float64
    assert backend.decode_latent(z).dtype == torch.float64


def test_sigmas():
    backend = tiny_random_sd3()
    shared = backend.scheduler.sigmas.clone()
    for n in (1, 4, 28):
        sigmas = backend.sigmas(n)
        assert sigmas.shape == (n + 1,) and sigmas.dtype == torch.float32
        assert sigmas[0] == 1.0 and sigmas[-1] == 0.0 and torch.all(sigmas[1:] < sigmas[:-1])
        reference = FlowMatchEulerDiscreteScheduler(shift=3.0)
        reference.set_timesteps(n)
        assert torch.equal(sigmas, reference.sigmas)
    assert torch.equal(backend.scheduler.sigmas, shared)  # the shared scheduler was never touched


def test_dynamic_shifting_sigmas_are_the_pipelines():
    components = tiny_sd3_components(seed=0)
    components["scheduler"] = FlowMatchEulerDiscreteScheduler(shift=3.0, use_dynamic_shifting=True)
    backend = SD3Backend(**components, max_sequence_length=TINY_MAX_SEQUENCE_LENGTH, image_size=SIZE)
    pipeline = StableDiffusion3Pipeline(**components)
    pipeline.set_progress_bar_config(disable=True)
    pipeline(PROMPT, num_inference_steps=3, guidance_scale=1.0, height=SIZE, width=SIZE, output_type="latent",
             max_sequence_length=TINY_MAX_SEQUENCE_LENGTH, generator=torch.Generator("cpu").manual_seed(0))
    assert torch.equal(backend.sigmas(3), pipeline.scheduler.sigmas)


def test_prompt_embeddings_are_the_pipelines(backend: SD3Backend, pipeline: StableDiffusion3Pipeline):
    tokens, neg_tokens, pooled, neg_pooled = pipeline.encode_prompt(
        PROMPT, None, None, do_classifier_free_guidance=True, max_sequence_length=TINY_MAX_SEQUENCE_LENGTH
    )
    cond, uncond = backend.encode_prompt([PROMPT]), backend.encode_prompt([""])
    assert torch.equal(cond.tokens, tokens) and torch.equal(cond.pooled, pooled)
    assert torch.equal(uncond.tokens, neg_tokens) and torch.equal(uncond.pooled, neg_pooled)
    assert not torch.allclose(cond.tokens, uncond.tokens)


@pytest.mark.parametrize("steps,guidance", [(2, 5.0), (4, 7.0)])
def test_sampling_parity_with_diffusers(
    backend: SD3Backend, pipeline: StableDiffusion3Pipeline, steps: int, guidance: float
):
    """Our Euler loop + CFG on the backend reproduces StableDiffusion3Pipeline (latents and images)."""
    kwargs = dict(prompt=PROMPT, num_inference_steps=steps, guidance_scale=guidance, height=SIZE, width=SIZE,
                  max_sequence_length=TINY_MAX_SEQUENCE_LENGTH)
    generator = torch.Generator("cpu").manual_seed(0)
    expected = pipeline(**kwargs, generator=generator, output_type="latent").images
    generator = torch.Generator("cpu").manual_seed(0)
    expected_images = pipeline(**kwargs, generator=generator, output_type="pt").images

    noise = initial_noise((1, *backend.latent_shape()), seed=0)
    cond, uncond = backend.encode_prompt([PROMPT]), backend.encode_prompt([""])
    velocity = guided_velocity(backend, cond, uncond, guidance)
    latents = integrate(velocity, noise, backend.sigmas(steps))
    diff = (latents - expected).abs().max().item()
    assert diff <= 1e-4, f"latent max abs diff {diff}"
    image_diff = ((backend.decode_latent(latents) + 1) / 2 - expected_images).abs().max().item()
    assert image_diff <= 1e-4, f"image max abs diff {image_diff}"


def test_gradients_flow_through_velocity(backend: SD3Backend):
    z = torch.randn(2, 4, SIZE, SIZE, requires_grad=True)
    emb = backend.encode_prompt([PROMPT, ""])
    tokens = emb.tokens.clone().requires_grad_(True)
    v = backend.velocity(z, torch.tensor([0.4, 0.6]), PromptEmbedding(tokens, emb.pooled))
    v.square().mean().backward()
    assert z.grad is not None and torch.isfinite(z.grad).all() and z.grad.abs().sum() > 0
    assert tokens.grad is not None and tokens.grad.abs().sum() > 0
    assert all(p.grad is None for p in backend.transformer.parameters())
