"""Plain text-to-image with any backend (the ``generate`` command and the model card's evaluation)."""

from __future__ import annotations

import torch
from PIL import Image

from ..backends.contract import Backend
from ..images import tensor_to_pil
from .guidance import guided_velocity
from .ode import integrate
from .schedules import initial_noise

__all__ = ["generate"]


def generate(backend: Backend, prompts: list[str], seeds: list[int], steps: int | None = None,
             guidance: float | None = None, enable_grad: bool = False) -> list[Image.Image]:
    """Sample one image per prompt from seeded noise: Euler over ``backend.generation_sigmas(steps)`` with CFG.

    Gradients are off unless ``enable_grad`` (the images are PIL either way; differentiate through
    :func:`~ems_core.sampling.ode.integrate` directly to keep tensors).
    """
    if len(prompts) != len(seeds):
        raise ValueError("one seed per prompt")
    steps = steps or backend.info.default_steps
    guidance = backend.info.default_guidance if guidance is None else guidance
    with torch.set_grad_enabled(enable_grad):
        shape = backend.latent_shape()
        z = torch.cat([initial_noise((1, *shape), seed, backend.device, backend.dtype) for seed in seeds])
        cond = backend.encode_prompt(prompts)
        uncond = backend.encode_prompt([""])
        z = integrate(guided_velocity(backend, cond, uncond, guidance), z, backend.generation_sigmas(steps))
        return tensor_to_pil(backend.decode_latent(z))
