"""The backend contract: the five things every model gives the editor.

A backend wraps one text-to-image rectified-flow transformer (SD3, Flux, the bundled world model)
and exposes only:

1. ``encode_prompt(prompts)``      -> :class:`PromptEmbedding` (token + pooled embeddings);
2. ``encode_image(images)``        -> latent ``z`` (B, C, h, w), images in [-1, 1];
3. ``decode_latent(latents)``      -> images (B, 3, H, W) in [-1, 1];
4. ``velocity(z_t, t, embedding)`` -> ``v`` with ``z_t = (1 - t) z_0 + t eps`` and ``v ~ eps - z_0``;
5. ``sigmas(num_steps)``           -> the sampling schedule, ``t`` from 1 down to 0.

Backends are shared and read-only: no per-request state is stored on them, so several edit sessions
(and several users) can use one backend at once. None of the methods disable gradients: the caller
decides (score distillation and Jacobians need them).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import torch


@dataclass(frozen=True)
class PromptEmbedding:
    """Token embeddings ``(B, L, D)`` and pooled embedding ``(B, P)`` of a batch of prompts.

    Embeddings form a vector space, which is what EMS manipulates (eq. ``e(a) = e_src + sum_i a_i
    (e_tgt_i - e_src)``); the arithmetic below returns new objects and never mutates.
    """

    tokens: torch.Tensor  # (B, L, D)
    pooled: torch.Tensor  # (B, P)

    def __add__(self, other: "PromptEmbedding") -> "PromptEmbedding":
        return PromptEmbedding(self.tokens + other.tokens, self.pooled + other.pooled)

    def __sub__(self, other: "PromptEmbedding") -> "PromptEmbedding":
        return PromptEmbedding(self.tokens - other.tokens, self.pooled - other.pooled)

    def __mul__(self, scale: float) -> "PromptEmbedding":
        return PromptEmbedding(self.tokens * scale, self.pooled * scale)

    __rmul__ = __mul__

    @property
    def batch_size(self) -> int:
        return self.tokens.shape[0]

    def repeat(self, n: int) -> "PromptEmbedding":
        """Repeat a batch-1 embedding ``n`` times along the batch."""
        return PromptEmbedding(self.tokens.expand(n, -1, -1), self.pooled.expand(n, -1))

    @staticmethod
    def cat(embeddings: list["PromptEmbedding"]) -> "PromptEmbedding":
        return PromptEmbedding(
            torch.cat([e.tokens for e in embeddings]), torch.cat([e.pooled for e in embeddings])
        )


@dataclass(frozen=True)
class BackendInfo:
    """What the UI and the CLI need to know about a loaded model."""

    name: str  # preset name, hub id or folder
    family: str  # "world", "sd3", "flux"
    image_size: int  # default square resolution in pixels
    default_steps: int
    default_guidance: float  # for text-to-image
    notes: str = ""
    edit_guidance: float | None = None  # guidance for edits (inversion and re-sampling); None: default_guidance

    @property
    def default_edit_guidance(self) -> float:
        return self.default_guidance if self.edit_guidance is None else self.edit_guidance
    extras: dict = field(default_factory=dict)


class Backend(ABC):
    """Abstract rectified-flow text-to-image backend (see module docstring)."""

    info: BackendInfo
    device: torch.device
    dtype: torch.dtype

    @abstractmethod
    def encode_prompt(self, prompts: list[str]) -> PromptEmbedding:
        """Token and pooled embeddings of ``prompts``; ``""`` is the unconditional prompt."""

    @abstractmethod
    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        """Images ``(B, 3, H, W)`` in [-1, 1] -> latents ``(B, C, h, w)`` (deterministic: the mean)."""

    @abstractmethod
    def decode_latent(self, latents: torch.Tensor) -> torch.Tensor:
        """Latents ``(B, C, h, w)`` -> images ``(B, 3, H, W)`` in [-1, 1]."""

    @abstractmethod
    def velocity(self, latents: torch.Tensor, t: torch.Tensor, embedding: PromptEmbedding) -> torch.Tensor:
        """Velocity ``v(z_t, t, e)`` for ``z_t = (1 - t) z_0 + t eps``; ``t`` is ``(B,)`` in [0, 1]."""

    @abstractmethod
    def sigmas(self, num_steps: int) -> torch.Tensor:
        """Schedule ``(num_steps + 1,)`` of noise levels, decreasing from (near) 1 to exactly 0."""

    def latent_shape(self, height: int | None = None, width: int | None = None) -> tuple[int, int, int]:
        """Shape ``(C, h, w)`` of one latent for an image of the given size (default: ``info.image_size``)."""
        size = self.info.image_size
        probe = torch.zeros(1, 3, height or size, width or size, device=self.device, dtype=self.dtype)
        with torch.no_grad():
            return tuple(self.encode_image(probe).shape[1:])  # type: ignore[return-value]
