"""The shared adapter over diffusers' components, which the SD3 and Flux backends specialise.

A :class:`DiffusersBackend` holds the pipeline's components and uses the diffusers pipeline object only
for its public ``encode_prompt`` and for model offloading; sampling belongs to :mod:`ems_core.sampling`.
Everything a subclass shares lives here: placement, the VAE's scaling, ``from_pipeline``,
``latent_shape`` and fresh schedules (a shared scheduler is never mutated).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from diffusers import AutoencoderKL, DiffusionPipeline, FlowMatchEulerDiscreteScheduler

from .contract import Backend, BackendInfo

__all__ = ["DiffusersBackend", "calculate_shift", "fresh_sigmas", "place_pipeline"]


def place_pipeline(pipeline: DiffusionPipeline, device: torch.device, dtype: torch.dtype, cpu_offload: bool) -> None:
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


class DiffusersBackend(Backend):
    """A backend over the components of one diffusers pipeline class (see module docstring).

    Subclasses set ``family`` and ``pipeline_class`` and implement ``encode_prompt``, ``velocity`` and
    ``sigmas``; they may override :meth:`_default_image_size` and :meth:`_extra_info`.

    Args:
        name: preset name, hub id or folder, reported in ``info``.
        device, dtype: where and in which precision the models run.
        cpu_offload: keep models on the CPU, each moved to ``device`` while it runs (accelerators only).
            Offloading moves shared modules: with several users at once prefer enough memory instead.
        max_sequence_length: T5 tokens per prompt.
        image_size: default square resolution (default: the subclass's :meth:`_default_image_size`).
        default_steps, default_guidance: defaults reported in ``info``.
        notes: free text reported in ``info``.
        components: the pipeline's components by name (``transformer``, ``scheduler``, ``vae``, ...).
    """

    family: ClassVar[str]
    pipeline_class: ClassVar[type[DiffusionPipeline]]

    def __init__(self, *, name: str = "", device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32,
                 cpu_offload: bool = False, max_sequence_length: int, image_size: int | None = None,
                 default_steps: int, default_guidance: float, notes: str = "", **components: Any) -> None:
        self.device = torch.device(device)
        self.dtype = dtype
        self.max_sequence_length = max_sequence_length
        self.transformer = components["transformer"]
        self.scheduler = components["scheduler"]
        self.vae: AutoencoderKL = components["vae"]
        # Used for ``encode_prompt`` and offload hooks only; never called (its __call__ stores state).
        self._pipeline = self.pipeline_class(**components)
        place_pipeline(self._pipeline, self.device, dtype, cpu_offload)
        self.vae_scale_factor = 2 ** (len(self.vae.config.block_out_channels) - 1)  # 8 for the real models
        self.info = BackendInfo(
            name=name or self.family,
            family=self.family,
            image_size=image_size or self._default_image_size(),
            default_steps=default_steps,
            default_guidance=default_guidance,
            notes=notes,
            extras={
                "latent_channels": self.vae.config.latent_channels,
                "vae_scale_factor": self.vae_scale_factor,
                "max_sequence_length": max_sequence_length,
                "transformer_calls_per_velocity": 1,
                "cpu_offload": cpu_offload and self.device.type != "cpu",
                **self._extra_info(components),
            },
        )

    def _default_image_size(self) -> int:
        return self.transformer.config.sample_size * self.vae_scale_factor

    def _extra_info(self, components: dict[str, Any]) -> dict[str, Any]:
        return {}

    @classmethod
    def recommended_options(cls, transformer_config: Any) -> dict[str, Any]:
        """Constructor options read off a checkpoint's transformer config (what its model card recommends)."""
        return {}

    @classmethod
    def from_pipeline(cls, pipeline: DiffusionPipeline, **options: Any) -> "DiffusersBackend":
        """Wrap the components of a loaded pipeline (``options`` as in the constructor)."""
        return cls(**pipeline.components, **options)

    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        """``(E(x).mean - shift_factor) * scaling_factor``; images ``(B, 3, H, W)`` in [-1, 1]."""
        mean = self.vae.encode(images.to(device=self.device, dtype=self.dtype)).latent_dist.mean  # (B, C, h, w)
        latents = (mean - (self.vae.config.shift_factor or 0.0)) * self.vae.config.scaling_factor
        return latents.to(device=images.device, dtype=images.dtype)

    def decode_latent(self, latents: torch.Tensor) -> torch.Tensor:
        """Inverse of :meth:`encode_image`: ``D(z / scaling_factor + shift_factor)`` clamped to [-1, 1]."""
        z = latents.to(device=self.device, dtype=self.dtype)
        z = z / self.vae.config.scaling_factor + (self.vae.config.shift_factor or 0.0)
        images = self.vae.decode(z).sample  # (B, 3, H, W)
        return images.clamp(-1.0, 1.0).to(device=latents.device, dtype=latents.dtype)

    def latent_shape(self, height: int | None = None, width: int | None = None) -> tuple[int, int, int]:
        """``(C, h, w)`` from the VAE config (no probe encode, which costs a full VAE pass at 1024 px)."""
        size = self.info.image_size
        return (self.vae.config.latent_channels, (height or size) // self.vae_scale_factor,
                (width or size) // self.vae_scale_factor)

    def _sequence_length(self, height: int | None, width: int | None, pixels_per_token: int) -> int:
        """Image tokens of a ``height x width`` image (default ``info.image_size`` square)."""
        size = self.info.image_size
        return ((height or size) // pixels_per_token) * ((width or size) // pixels_per_token)
