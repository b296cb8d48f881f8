"""FLUX.1 behind the backend contract (an adapter over diffusers' components).

Flux packs latents into 2x2 patches and gives the transformer position ids for text and image tokens;
both stay inside :meth:`FluxBackend.velocity`, whose latents are plain ``(B, C, h, w)`` as for every
backend. ``FluxPipeline`` is used only for its public ``encode_prompt`` and for model offloading.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from diffusers import FluxPipeline

from ..embeddings import PromptEmbedding
from .diffusers_adapter import DiffusersBackend, calculate_shift, fresh_sigmas

__all__ = ["FluxBackend", "pack_latents", "unpack_latents", "latent_image_ids"]


def pack_latents(latents: torch.Tensor) -> torch.Tensor:
    """``(B, C, h, w)`` -> ``(B, h/2 * w/2, 4 C)``: 2x2 patches as tokens (``FluxPipeline._pack_latents``)."""
    b, c, h, w = latents.shape
    if h % 2 or w % 2:
        raise ValueError(f"Flux latents need even height and width, got {h}x{w}")
    patches = latents.view(b, c, h // 2, 2, w // 2, 2).permute(0, 2, 4, 1, 3, 5)  # (B, h/2, w/2, C, 2, 2)
    return patches.reshape(b, (h // 2) * (w // 2), c * 4)


def unpack_latents(packed: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Inverse of :func:`pack_latents` for a latent of ``height x width`` cells."""
    b, _, channels = packed.shape
    patches = packed.view(b, height // 2, width // 2, channels // 4, 2, 2).permute(0, 3, 1, 4, 2, 5)
    return patches.reshape(b, channels // 4, height, width)  # (B, C, h, w)


def latent_image_ids(height: int, width: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """Position ids ``(h/2 * w/2, 3)`` = ``(0, row, column)`` of the packed image tokens."""
    ids = torch.zeros(height // 2, width // 2, 3)
    ids[..., 1] = torch.arange(height // 2)[:, None]
    ids[..., 2] = torch.arange(width // 2)[None, :]
    return ids.reshape(-1, 3).to(device=device, dtype=dtype)


class FluxBackend(DiffusersBackend):
    """FLUX.1 (dev or schnell) from diffusers components, following ``FluxPipeline`` exactly.

    * prompts: T5 tokens ``(B, max_sequence_length, 4096)`` and the CLIP-L pooled output ``(B, 768)``
      for the real models; ``""`` works (Flux has no negative prompt by default: ``info.default_guidance``
      is 1, one transformer call per step; ``guided_velocity`` with ``uncond = encode_prompt([""])`` and a
      guidance above 1 is the pipeline's ``true_cfg_scale`` with ``negative_prompt=""``);
    * ``velocity(z, t, e) = unpack(transformer(pack(z), timestep=t, guidance=g, ...))``: one transformer
      call; ``g = info.extras["embedded_guidance"]`` (3.5 by default) is passed only when the
      transformer has guidance embeddings (FLUX.1-dev), ``None`` otherwise (schnell);
    * ``sigmas(n)``: ``linspace(1, 1/n, n)`` shifted with the resolution-dependent ``mu`` of
      ``info.image_size`` (or of an optional ``height``/``width``), then 0: what ``FluxPipeline`` uses.

    Components (keywords): ``transformer, scheduler, vae, text_encoder, tokenizer, text_encoder_2,
    tokenizer_2`` (CLIP = ``text_encoder``, T5 = ``text_encoder_2``). Options as in
    :class:`~ems_core.backends.diffusers_adapter.DiffusersBackend`; here ``max_sequence_length`` defaults
    to 512 (dev; schnell reads 256), ``default_steps`` to 28 for dev and 4 for schnell, ``default_guidance``
    to 1, and ``embedded_guidance`` (3.5) is the value fed to a guidance-distilled model's embedding.
    The default image size is 1024 for 8x VAEs (128 latent cells).
    """

    family = "flux"
    pipeline_class = FluxPipeline

    def __init__(self, *, max_sequence_length: int = 512, embedded_guidance: float = 3.5,
                 default_steps: int | None = None, default_guidance: float = 1.0, **options: Any) -> None:
        self.guidance_embeds = bool(options["transformer"].config.guidance_embeds)
        self.embedded_guidance = embedded_guidance if self.guidance_embeds else None
        super().__init__(max_sequence_length=max_sequence_length,
                         default_steps=default_steps or (28 if self.guidance_embeds else 4),
                         default_guidance=default_guidance, **options)
        if self.info.image_size % (2 * self.vae_scale_factor):
            raise ValueError(f"Flux image size must be a multiple of {2 * self.vae_scale_factor}, "
                             f"got {self.info.image_size}")

    @classmethod
    def recommended_options(cls, transformer_config: Any) -> dict[str, Any]:
        """FLUX.1-dev (guidance embedding) reads 512 T5 tokens, FLUX.1-schnell 256."""
        return {"max_sequence_length": 512 if transformer_config.guidance_embeds else 256}

    def _default_image_size(self) -> int:
        return 128 * self.vae_scale_factor

    def _extra_info(self, components: dict[str, Any]) -> dict[str, Any]:
        return {"embedded_guidance": self.embedded_guidance, "guidance_distilled": self.guidance_embeds}

    def encode_prompt(self, prompts: list[str]) -> PromptEmbedding:
        """``FluxPipeline.encode_prompt``: T5 tokens and CLIP pooled output (text ids are all zero)."""
        tokens, pooled, _ = self._pipeline.encode_prompt(
            prompt=[prompts] if isinstance(prompts, str) else list(prompts),
            prompt_2=None,
            device=self.device,
            num_images_per_prompt=1,
            max_sequence_length=self.max_sequence_length,
        )
        return PromptEmbedding(
            tokens.to(device=self.device, dtype=self.dtype),  # (B, max_sequence_length, D)
            pooled.to(device=self.device, dtype=self.dtype),  # (B, P)
        )

    def token_ids(self, prompt: str) -> list[list[int]]:
        """T5's ids, padded to ``max_sequence_length`` as the pipeline does (CLIP gives only the pooled vector)."""
        pipeline = self._pipeline
        return [list(pipeline.tokenizer_2(prompt, padding="max_length", max_length=self.max_sequence_length,
                                          truncation=True, add_special_tokens=True).input_ids)]

    def velocity(self, latents: torch.Tensor, t: torch.Tensor, embedding: PromptEmbedding) -> torch.Tensor:
        """Pack ``z_t``, call the transformer with ``timestep = t`` (it scales by 1000 itself), the
        embedded guidance and the position ids, and unpack ``v = eps - z_0``."""
        z = latents.to(device=self.device, dtype=self.dtype)  # (B, C, h, w)
        batch, _, height, width = z.shape
        tokens = embedding.tokens.to(device=self.device, dtype=self.dtype)  # (B, L, D)
        t = torch.as_tensor(t, device=self.device).reshape(-1).expand(batch)  # (B,)
        guidance = None
        if self.guidance_embeds:
            guidance = torch.full((batch,), float(self.embedded_guidance), device=self.device,
                                  dtype=torch.float32)  # (B,), as the pipeline passes it
        packed_v = self.transformer(
            hidden_states=pack_latents(z),  # (B, h/2 * w/2, 4C)
            timestep=t.to(self.dtype),
            guidance=guidance,
            pooled_projections=embedding.pooled.to(device=self.device, dtype=self.dtype),  # (B, P)
            encoder_hidden_states=tokens,
            txt_ids=torch.zeros(tokens.shape[1], 3, device=self.device, dtype=self.dtype),  # (L, 3)
            img_ids=latent_image_ids(height, width, self.device, self.dtype),  # (h/2 * w/2, 3)
            return_dict=False,
        )[0]
        v = unpack_latents(packed_v, height, width)  # (B, C, h, w)
        return v.to(device=latents.device, dtype=latents.dtype)

    def sigmas(self, num_steps: int, height: int | None = None, width: int | None = None) -> torch.Tensor:
        """``FluxPipeline``'s schedule: ``linspace(1, 1/n, n)`` shifted with the ``mu`` of the image
        sequence length at ``height x width`` pixels (default ``info.image_size`` square)."""
        if num_steps < 1:
            raise ValueError(f"num_steps must be >= 1, got {num_steps}")
        seq_len = self._sequence_length(height, width, 2 * self.vae_scale_factor)
        mu = calculate_shift(seq_len, self.scheduler.config, default_max_shift=1.15)
        if self.scheduler.config.get("use_flow_sigmas", False):  # the pipeline then lets the scheduler choose
            return fresh_sigmas(self.scheduler.config, num_steps, mu=mu)
        base = np.linspace(1.0, 1.0 / num_steps, num_steps)
        return fresh_sigmas(self.scheduler.config, num_steps, sigmas=base, mu=mu)
