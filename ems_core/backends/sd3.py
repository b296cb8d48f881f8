"""Stable Diffusion 3 / 3.5 behind the backend contract (an adapter over diffusers' components).

Diffusers' ``StableDiffusion3Pipeline`` is used only for its public ``encode_prompt`` (so prompt
embeddings equal the pipeline's by construction) and for model offloading; sampling belongs to
:mod:`ems_core.sampling`. The helpers below (device placement, VAE scaling, fresh schedules) are shared
with :mod:`ems_core.backends.flux`.
"""

from __future__ import annotations

from typing import Any

import torch
from diffusers import (
    AutoencoderKL,
    DiffusionPipeline,
    FlowMatchEulerDiscreteScheduler,
    SD3Transformer2DModel,
    StableDiffusion3Pipeline,
)
from transformers import CLIPTextModelWithProjection, CLIPTokenizer, T5EncoderModel, T5TokenizerFast

from .base import Backend, BackendInfo, PromptEmbedding

__all__ = [
    "SD3Backend",
    "place_pipeline",
    "vae_scale_factor",
    "vae_encode_mean",
    "vae_decode",
    "calculate_shift",
    "fresh_sigmas",
]


# --- helpers shared by the diffusers backends -------------------------------------------------------


def place_pipeline(
    pipeline: DiffusionPipeline, device: torch.device, dtype: torch.dtype, cpu_offload: bool
) -> None:
    """Freeze every model of ``pipeline`` (eval mode, no parameter gradients) and place it.

    ``cpu_offload`` (accelerator devices only) keeps the models on the CPU and lets accelerate hooks move
    each one to ``device`` while it runs (diffusers' ``enable_model_cpu_offload``); it is ignored on CPU.
    """
    for module in pipeline.components.values():
        if isinstance(module, torch.nn.Module):
            module.eval()
            module.requires_grad_(False)
            # Skip no-op casts: they warn, and would undo a loaded model's float32 islands.
            if getattr(module, "dtype", dtype) != dtype:
                module.to(dtype=dtype)
    if cpu_offload and device.type != "cpu":
        pipeline.enable_model_cpu_offload(device=device)
    else:
        pipeline.to(device)


def vae_scale_factor(vae: AutoencoderKL) -> int:
    """Pixels per latent cell: ``2 ** (number of VAE blocks - 1)`` (8 for the real models)."""
    return 2 ** (len(vae.config.block_out_channels) - 1)


def vae_encode_mean(
    vae: AutoencoderKL, images: torch.Tensor, device: torch.device, dtype: torch.dtype
) -> torch.Tensor:
    """``(E(x).mean - shift_factor) * scaling_factor``; images ``(B, 3, H, W)`` in [-1, 1], returned
    latents ``(B, C, h, w)`` follow the images' device and dtype."""
    x = images.to(device=device, dtype=dtype)
    mean = vae.encode(x).latent_dist.mean  # (B, C, h, w)
    shift = vae.config.shift_factor or 0.0
    latents = (mean - shift) * vae.config.scaling_factor
    return latents.to(device=images.device, dtype=images.dtype)


def vae_decode(
    vae: AutoencoderKL, latents: torch.Tensor, device: torch.device, dtype: torch.dtype
) -> torch.Tensor:
    """Inverse of :func:`vae_encode_mean`: ``D(z / scaling_factor + shift_factor)`` clamped to [-1, 1]."""
    z = latents.to(device=device, dtype=dtype)
    shift = vae.config.shift_factor or 0.0
    images = vae.decode(z / vae.config.scaling_factor + shift).sample  # (B, 3, H, W)
    return images.clamp(-1.0, 1.0).to(device=latents.device, dtype=latents.dtype)


def calculate_shift(image_seq_len: int, config: Any, default_max_shift: float = 1.15) -> float:
    """Resolution-dependent shift ``mu``: linear in the image sequence length, from ``base_shift`` at
    ``base_image_seq_len`` to ``max_shift`` at ``max_image_seq_len`` (diffusers' ``calculate_shift``)."""
    base_len, max_len = config.get("base_image_seq_len", 256), config.get("max_image_seq_len", 4096)
    base_shift, max_shift = config.get("base_shift", 0.5), config.get("max_shift", default_max_shift)
    slope = (max_shift - base_shift) / (max_len - base_len)
    intercept = base_shift - slope * base_len
    return image_seq_len * slope + intercept


def fresh_sigmas(scheduler_config: Any, num_steps: int, **set_timesteps_kwargs: Any) -> torch.Tensor:
    """Sigmas ``(num_steps + 1,)`` (float32, CPU, ending at 0) of a new ``FlowMatchEulerDiscreteScheduler``
    built from ``scheduler_config``: a shared scheduler is never mutated."""
    if num_steps < 1:
        raise ValueError(f"num_steps must be >= 1, got {num_steps}")
    scheduler = FlowMatchEulerDiscreteScheduler.from_config(scheduler_config)
    scheduler.set_timesteps(num_inference_steps=num_steps, **set_timesteps_kwargs)
    return scheduler.sigmas.detach().to(device="cpu", dtype=torch.float32)


# --- the SD3 backend --------------------------------------------------------------------------------


class SD3Backend(Backend):
    """SD3 / SD3.5 (MMDiT) from diffusers components, following ``StableDiffusion3Pipeline`` exactly.

    * prompts: CLIP-L and CLIP-G penultimate hidden states (concatenated, zero-padded to T5's width)
      followed by T5 tokens (zeros without T5): tokens ``(B, 77 + max_sequence_length, D)``; pooled =
      both CLIP projections ``(B, 2048)`` for the real models;
    * ``velocity(z, t, e) = transformer(z, 1000 t, e.tokens, e.pooled)``: one transformer call per
      velocity (classifier-free guidance doubles the batch, see :func:`ems_core.sampling.guided_velocity`);
    * ``sigmas(n)``: the pipeline's schedule (``shift``, or the resolution shift at ``info.image_size``
      when the scheduler uses dynamic shifting).

    Tensors passed in are moved to the backend's device and dtype; ``encode_image``, ``decode_latent`` and
    ``velocity`` return results on the device and in the dtype of their input.

    Args:
        transformer, scheduler, vae, text_encoder, tokenizer, text_encoder_2, tokenizer_2, text_encoder_3,
            tokenizer_3: the ``StableDiffusion3Pipeline`` components (T5 may be ``None``).
        name: preset name, hub id or folder, reported in ``info``.
        device, dtype: where and in which precision the models run.
        cpu_offload: keep models on the CPU, each moved to ``device`` while it runs (accelerators only).
            Offloading moves shared modules: with several users at once prefer enough memory instead.
        max_sequence_length: T5 tokens per prompt (256 in the pipeline).
        image_size: default square resolution (default: ``transformer.sample_size * vae_scale_factor``).
        default_steps, default_guidance: defaults reported in ``info``.
    """

    family = "sd3"

    def __init__(
        self,
        transformer: SD3Transformer2DModel,
        scheduler: FlowMatchEulerDiscreteScheduler,
        vae: AutoencoderKL,
        text_encoder: CLIPTextModelWithProjection,
        tokenizer: CLIPTokenizer,
        text_encoder_2: CLIPTextModelWithProjection,
        tokenizer_2: CLIPTokenizer,
        text_encoder_3: T5EncoderModel | None = None,
        tokenizer_3: T5TokenizerFast | None = None,
        *,
        name: str = "sd3",
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float32,
        cpu_offload: bool = False,
        max_sequence_length: int = 256,
        image_size: int | None = None,
        default_steps: int = 28,
        default_guidance: float = 7.0,
        notes: str = "",
    ) -> None:
        self.device = torch.device(device)
        self.dtype = dtype
        self.max_sequence_length = max_sequence_length
        self.transformer = transformer
        self.scheduler = scheduler
        self.vae = vae
        # Used for ``encode_prompt`` and offload hooks only; never called (its __call__ stores state).
        self._pipeline = StableDiffusion3Pipeline(
            transformer=transformer,
            scheduler=scheduler,
            vae=vae,
            text_encoder=text_encoder,
            tokenizer=tokenizer,
            text_encoder_2=text_encoder_2,
            tokenizer_2=tokenizer_2,
            text_encoder_3=text_encoder_3,
            tokenizer_3=tokenizer_3,
        )
        place_pipeline(self._pipeline, self.device, dtype, cpu_offload)
        self.vae_scale_factor = vae_scale_factor(vae)
        self.patch_size = transformer.config.patch_size
        self.num_train_timesteps = scheduler.config.num_train_timesteps
        size = image_size or transformer.config.sample_size * self.vae_scale_factor
        self.info = BackendInfo(
            name=name,
            family=self.family,
            image_size=size,
            default_steps=default_steps,
            default_guidance=default_guidance,
            notes=notes,
            extras={
                "latent_channels": vae.config.latent_channels,
                "vae_scale_factor": self.vae_scale_factor,
                "max_sequence_length": max_sequence_length,
                "has_t5": text_encoder_3 is not None,
                "transformer_calls_per_velocity": 1,
                "cpu_offload": cpu_offload and self.device.type != "cpu",
            },
        )

    @classmethod
    def from_pipeline(cls, pipeline: StableDiffusion3Pipeline, **options: Any) -> "SD3Backend":
        """Wrap the components of a loaded pipeline (``options`` as in the constructor)."""
        names = ("transformer", "scheduler", "vae", "text_encoder", "tokenizer", "text_encoder_2",
                 "tokenizer_2", "text_encoder_3", "tokenizer_3")
        return cls(**{k: pipeline.components.get(k) for k in names}, **options)

    def encode_prompt(self, prompts: list[str]) -> PromptEmbedding:
        """``StableDiffusion3Pipeline.encode_prompt`` (no CFG branch); ``""`` gives the pipeline's
        negative-prompt embedding."""
        if isinstance(prompts, str):
            prompts = [prompts]
        tokens, _, pooled, _ = self._pipeline.encode_prompt(
            prompt=list(prompts),
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

    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        return vae_encode_mean(self.vae, images, self.device, self.dtype)

    def decode_latent(self, latents: torch.Tensor) -> torch.Tensor:
        return vae_decode(self.vae, latents, self.device, self.dtype)

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

    def latent_shape(self, height: int | None = None, width: int | None = None) -> tuple[int, int, int]:
        """``(C, h, w)`` from the VAE config (no probe encode, which costs a full VAE pass at 1024 px)."""
        size = self.info.image_size
        return (self.vae.config.latent_channels, (height or size) // self.vae_scale_factor,
                (width or size) // self.vae_scale_factor)

    def sigmas(self, num_steps: int, height: int | None = None, width: int | None = None) -> torch.Tensor:
        """The schedule ``StableDiffusion3Pipeline`` uses for ``num_steps``; ``height``/``width`` (pixels,
        default ``info.image_size``) matter only for schedulers with dynamic (resolution) shifting."""
        kwargs: dict[str, Any] = {}
        if self.scheduler.config.get("use_dynamic_shifting", False):
            cells = self.vae_scale_factor * self.patch_size
            seq_len = ((height or self.info.image_size) // cells) * ((width or self.info.image_size) // cells)
            kwargs["mu"] = calculate_shift(seq_len, self.scheduler.config, default_max_shift=1.16)
        return fresh_sigmas(self.scheduler.config, num_steps, **kwargs)
