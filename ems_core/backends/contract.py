"""The backend contract: the five things every model gives the editor.

A backend wraps one text-to-image rectified-flow transformer (SD3, Flux, the bundled world model)
and exposes only:

1. ``encode_prompt(prompts)``      -> :class:`~ems_core.embeddings.PromptEmbedding` (token + pooled);
2. ``encode_image(images)``        -> latent ``z`` (B, C, h, w), images in [-1, 1];
3. ``decode_latent(latents)``      -> images (B, 3, H, W) in [-1, 1];
4. ``velocity(z_t, t, embedding)`` -> ``v`` with ``z_t = (1 - t) z_0 + t eps`` and ``v ~ eps - z_0``;
5. ``sigmas(num_steps)``           -> the sampling schedule, ``t`` from 1 down to 0.

Optional: ``token_ids(prompt)``, the ids behind ``encode_prompt``'s token axis, so that EMS can blend prompts
word by word (:mod:`ems_core.alignment`); without it they blend slot by slot.

``encode_image``, ``decode_latent`` and ``velocity`` return results on the device and in the dtype of
their input (the model itself runs on ``backend.device`` in ``backend.dtype``).

Backends are shared and read-only: no per-request state is stored on them, so several edit sessions
(and several users) can use one backend at once. None of the methods disable gradients: the caller
decides (score distillation and Jacobians need them).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch

from ..config import EditConfig
from ..embeddings import PromptEmbedding

if TYPE_CHECKING:
    from ..extract.captioners import Captioner

__all__ = ["Backend", "BackendInfo", "CountingBackend", "ForwardingBackend"]


@dataclass(frozen=True)
class BackendInfo:
    """What the UI and the CLI need to know about a loaded model."""

    name: str  # preset name, hub id or folder
    family: str  # "world", "sd3", "flux"
    image_size: int  # default square resolution in pixels
    default_steps: int
    default_guidance: float  # for text-to-image
    notes: str = ""
    # The settings edits use unless a caller gives its own (docs/method.md says how they were measured).
    # Its steps / guidance (or, when None, default_steps / default_guidance) also fill in a caller's Nones.
    edit_config: EditConfig = field(default_factory=EditConfig)
    extras: dict = field(default_factory=dict)
    # The noise level where latent directions (LOCO, T-LOCO, HSDS, SDS) are found and applied unless a caller gives
    # its own; None: the edit config's start_time. A model whose slider edits need a high t0 may find cleaner
    # directions lower (the factor-4 portrait model: docs/method.md, "Measured on the portrait model").
    direction_start_time: float | None = None

    def direction_config(self, config: EditConfig | None = None) -> EditConfig:
        """``config`` (default: the edit config) as latent directions use it: at :attr:`direction_start_time` when
        the model sets one, and where the settings give the source prompt a guidance of its own, at that
        guidance throughout (a direction renders under the source prompt, at degree 0 of every attribute, where
        the target side's guidance ramps down to the source side's: ``ramped_guidance``)."""
        config = self.edit_config if config is None else config
        if config.source_guidance is not None:
            config = config.with_(guidance=config.source_guidance, source_guidance=None)
        return config if self.direction_start_time is None else config.with_(start_time=self.direction_start_time)

    @property
    def default_edit_steps(self) -> int:
        return self.edit_config.steps or self.default_steps

    @property
    def default_edit_guidance(self) -> float:
        return self.default_guidance if self.edit_config.guidance is None else self.edit_config.guidance


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
    def sigmas(self, num_steps: int, height: int | None = None, width: int | None = None) -> torch.Tensor:
        """Schedule ``(num_steps + 1,)`` of noise levels, decreasing from (near) 1 to exactly 0.

        ``height``/``width`` (pixels, default ``info.image_size``) matter only to models whose schedule
        shifts with the resolution (SD3.5, Flux).
        """

    def generation_sigmas(self, num_steps: int, height: int | None = None, width: int | None = None) -> torch.Tensor:
        """The schedule text-to-image sampling from pure noise uses (:meth:`sigmas` unless the model has one of its
        own: a bundled model may spend more of its steps at high noise, where a picture's layout is decided,
        without changing the schedule its edits were measured with)."""
        return self.sigmas(num_steps, height, width)

    @abstractmethod
    def latent_shape(self, height: int | None = None, width: int | None = None) -> tuple[int, int, int]:
        """Shape ``(C, h, w)`` of one latent for an image of the given size (default: ``info.image_size``)."""

    def default_captioner(self) -> "Captioner | None":
        """The captioner that describes this model's images (EMS step 1), or ``None``: the user types it."""
        return None

    def token_ids(self, prompt: str) -> list[list[int]] | None:
        """The token ids behind :meth:`encode_prompt`'s token axis, one list per text encoder whose tokens it
        concatenates there (their lengths sum to the axis), or ``None`` when unknown: then EMS blends prompt
        embeddings slot by slot instead of word by word (:mod:`ems_core.alignment`)."""
        return None


class ForwardingBackend(Backend):
    """A backend that forwards every call to another (``inner``); wrappers override what they change."""

    def __init__(self, backend: Backend):
        self.inner = backend
        self.info, self.device, self.dtype = backend.info, backend.device, backend.dtype

    def __getattr__(self, name: str):
        """What a wrapper does not define comes from the wrapped backend (e.g. a bundled model's ``world``)."""
        if name == "inner":  # not set yet (unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.inner, name)

    def encode_prompt(self, prompts: list[str]) -> PromptEmbedding:
        return self.inner.encode_prompt(prompts)

    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        return self.inner.encode_image(images)

    def decode_latent(self, latents: torch.Tensor) -> torch.Tensor:
        return self.inner.decode_latent(latents)

    def velocity(self, latents: torch.Tensor, t: torch.Tensor, embedding: PromptEmbedding) -> torch.Tensor:
        return self.inner.velocity(latents, t, embedding)

    def sigmas(self, num_steps: int, height: int | None = None, width: int | None = None) -> torch.Tensor:
        return self.inner.sigmas(num_steps, height, width)

    def generation_sigmas(self, num_steps: int, height: int | None = None, width: int | None = None) -> torch.Tensor:
        return self.inner.generation_sigmas(num_steps, height, width)

    def latent_shape(self, height: int | None = None, width: int | None = None) -> tuple[int, int, int]:
        return self.inner.latent_shape(height, width)

    def default_captioner(self) -> "Captioner | None":
        return self.inner.default_captioner()

    def token_ids(self, prompt: str) -> list[list[int]] | None:
        return self.inner.token_ids(prompt)


class CountingBackend(ForwardingBackend):
    """A backend that forwards to another and counts transformer evaluations (rows of each velocity batch).

    Sessions wrap the shared backend in one of these per render, so the count is per call and the shared
    backend stays free of state.
    """

    def __init__(self, backend: Backend):
        super().__init__(backend)
        self.evaluations = 0

    def velocity(self, latents: torch.Tensor, t: torch.Tensor, embedding: PromptEmbedding) -> torch.Tensor:
        self.evaluations += latents.shape[0]
        return self.inner.velocity(latents, t, embedding)
