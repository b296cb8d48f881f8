"""The :class:`Direction` type, :func:`compose` and the sign convention of unsupervised directions.

A direction is a unit vector ``v`` in the latent at noise level ``t`` of one model; applying it with a
strength ``lambda`` moves an inverted latent ``z_t' = z_t + lambda v`` (linear in ``lambda``), and the
session samples the rest (:meth:`ems_core.session.EditSession.render_batch` with ``latent_offset``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

__all__ = ["Direction", "canonical_sign", "compose"]


@dataclass(frozen=True)
class Direction:
    """A latent direction and where it came from."""

    vector: torch.Tensor  # (C, h, w), unit norm
    model: str  # the backend's name (a direction belongs to one model's latent space)
    noise_level: float  # the t at which it was found and is applied
    method: str  # "loco", "tloco", "hsds", ...
    provenance: dict = field(default_factory=dict)  # prompts, source image hash, settings

    def __post_init__(self) -> None:
        if self.vector.dim() != 3:
            raise ValueError(f"a direction is one latent (C, h, w), got shape {tuple(self.vector.shape)}")
        if not 0.0 < self.noise_level <= 1.0:
            raise ValueError(f"noise level must be in (0, 1], got {self.noise_level}")

    @property
    def unit_strength(self) -> float:
        """What strength 1 (a degree of 1) means in latent units: ``provenance["unit_strength"]`` for text
        directions (:func:`~ems_core.directions.text.matched_strength`), 1.0 otherwise."""
        return float(self.provenance.get("unit_strength", 1.0))

    def offset(self, strength: float) -> torch.Tensor:
        """``lambda v`` as a batch-1 latent ``(1, C, h, w)``."""
        return (strength * self.vector).unsqueeze(0)

    def apply(self, z_t: torch.Tensor, strength: float) -> torch.Tensor:
        """``z_t + lambda v`` for a latent batch ``(B, C, h, w)``."""
        return z_t + self.offset(strength).to(device=z_t.device, dtype=z_t.dtype)


def compose(directions: list[Direction], strengths: list[float]) -> torch.Tensor:
    """``sum_k lambda_k v_k`` as one latent offset ``(1, C, h, w)``; every direction must share model and t."""
    if len(directions) != len(strengths) or not directions:
        raise ValueError("one strength per direction, at least one direction")
    first = directions[0]
    for direction in directions[1:]:
        if (direction.model, direction.noise_level, direction.vector.shape) != \
                (first.model, first.noise_level, first.vector.shape):
            raise ValueError("directions of different models, noise levels or shapes do not compose")
    return sum(d.offset(s) for d, s in zip(directions, strengths))


def canonical_sign(vector: torch.Tensor) -> torch.Tensor:
    """``vector`` or ``-vector``, whichever has its largest-magnitude component positive.

    Singular vectors are defined up to sign; this makes an unsupervised direction's sign deterministic
    (the same subspace always gives the same vector, whatever the random start). Ties in magnitude go
    to the first component in flattened (C, h, w) order.
    """
    flat = vector.reshape(-1)
    return -vector if flat[flat.abs().argmax()] < 0 else vector
