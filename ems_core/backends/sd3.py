"""Stable Diffusion 3 / 3.5 behind the backend contract (an adapter over diffusers' components).

Diffusers' ``StableDiffusion3Pipeline`` is used only for its public ``encode_prompt`` (so prompt
embeddings equal the pipeline's by construction) and for model offloading; the rest is shared with
Flux in :class:`~ems_core.backends.diffusers_adapter.DiffusersBackend`.
"""

from __future__ import annotations

from typing import Any

import torch
from diffusers import StableDiffusion3Pipeline

from ..embeddings import PromptEmbedding
from .diffusers_adapter import DiffusersBackend, calculate_shift, fresh_sigmas

__all__ = ["SD3Backend"]


class SD3Backend(DiffusersBackend):
    """SD3 / SD3.5 (MMDiT) from diffusers components, following ``StableDiffusion3Pipeline`` exactly.

    * prompts: CLIP-L and CLIP-G penultimate hidden states (concatenated, zero-padded to T5's width)
      followed by T5 tokens (zeros without T5): tokens ``(B, 77 + max_sequence_length, D)``; pooled =
      both CLIP projections ``(B, 2048)`` for the real models;
    * ``velocity(z, t, e) = transformer(z, 1000 t, e.tokens, e.pooled)``: one transformer call per
      velocity (classifier-free guidance doubles the batch, see :func:`ems_core.sampling.guided_velocity`);
    * ``sigmas(n)``: the pipeline's schedule (``shift``, or the resolution shift at ``info.image_size``
      when the scheduler uses dynamic shifting).

    Components (keywords): ``transformer, scheduler, vae, text_encoder, tokenizer, text_encoder_2,
    tokenizer_2, text_encoder_3, tokenizer_3`` (T5 may be ``None``). Options as in
    :class:`~ems_core.backends.diffusers_adapter.DiffusersBackend`; here ``max_sequence_length`` defaults
    to 256 (the pipeline's), ``default_steps`` to 28 and ``default_guidance`` to 7.0 (SD3 medium).
    """

    family = "sd3"
    pipeline_class = StableDiffusion3Pipeline

    def __init__(self, *, max_sequence_length: int = 256, default_steps: int = 28, default_guidance: float = 7.0,
                 **options: Any) -> None:
        options.setdefault("text_encoder_3", None)
        options.setdefault("tokenizer_3", None)
        super().__init__(max_sequence_length=max_sequence_length, default_steps=default_steps,
                         default_guidance=default_guidance, **options)
        self.patch_size = self.transformer.config.patch_size
        self.num_train_timesteps = self.scheduler.config.num_train_timesteps

    @classmethod
    def recommended_options(cls, transformer_config: Any) -> dict[str, Any]:
        """SD3 medium: 28 steps, guidance 7.0; SD3.5 (RMS qk-norm): 28 steps, guidance 3.5."""
        return {"default_steps": 28, "default_guidance": 3.5 if transformer_config.get("qk_norm") else 7.0}

    def _extra_info(self, components: dict[str, Any]) -> dict[str, Any]:
        return {"has_t5": components.get("text_encoder_3") is not None}

    def encode_prompt(self, prompts: list[str]) -> PromptEmbedding:
        """``StableDiffusion3Pipeline.encode_prompt`` (no CFG branch); ``""`` gives the pipeline's
        negative-prompt embedding."""
        tokens, _, pooled, _ = self._pipeline.encode_prompt(
            prompt=[prompts] if isinstance(prompts, str) else list(prompts),
            prompt_2=None,
            prompt_3=None,
            device=self.device,
            num_images_per_prompt=1,
            do_classifier_free_guidance=False,
            max_sequence_length=self.max_sequence_length,
        )
        return PromptEmbedding(
            tokens.to(device=self.device, dtype=self.dtype),  # (B, 77 + max_sequence_length, D)
            pooled.to(device=self.device, dtype=self.dtype),  # (B, P)
        )

    def token_ids(self, prompt: str) -> list[list[int]]:
        """CLIP's ids (the pipeline's padded 77, shared by CLIP-L and CLIP-G, whose features it concatenates per
        slot), then T5's (``max_sequence_length``; zeros without T5, as the pipeline's zero tokens)."""
        pipeline = self._pipeline
        clip = pipeline.tokenizer(prompt, padding="max_length", max_length=pipeline.tokenizer_max_length,
                                  truncation=True).input_ids
        if pipeline.text_encoder_3 is None or pipeline.tokenizer_3 is None:
            return [list(clip), [0] * self.max_sequence_length]
        t5 = pipeline.tokenizer_3(prompt, padding="max_length", max_length=self.max_sequence_length, truncation=True,
                                  add_special_tokens=True).input_ids
        return [list(clip), list(t5)]

    def velocity(self, latents: torch.Tensor, t: torch.Tensor, embedding: PromptEmbedding) -> torch.Tensor:
        """The pipeline's call ``transformer(z_t, timestep=1000 t, tokens, pooled)``: ``v = eps - z_0``."""
        z = latents.to(device=self.device, dtype=self.dtype)  # (B, C, h, w)
        t = torch.as_tensor(t, device=self.device).float().reshape(-1).expand(z.shape[0])  # (B,)
        v = self.transformer(
            hidden_states=z,
            timestep=t * self.num_train_timesteps,
            encoder_hidden_states=embedding.tokens.to(device=self.device, dtype=self.dtype),  # (B, L, D)
            pooled_projections=embedding.pooled.to(device=self.device, dtype=self.dtype),  # (B, P)
            return_dict=False,
        )[0]
        return v.to(device=latents.device, dtype=latents.dtype)  # (B, C, h, w)

    def sigmas(self, num_steps: int, height: int | None = None, width: int | None = None) -> torch.Tensor:
        """The schedule ``StableDiffusion3Pipeline`` uses for ``num_steps``; ``height``/``width`` matter only
        for schedulers with dynamic (resolution) shifting."""
        kwargs: dict[str, Any] = {}
        if self.scheduler.config.get("use_dynamic_shifting", False):
            seq_len = self._sequence_length(height, width, self.vae_scale_factor * self.patch_size)
            kwargs["mu"] = calculate_shift(seq_len, self.scheduler.config, default_max_shift=1.16)
        return fresh_sigmas(self.scheduler.config, num_steps, **kwargs)
