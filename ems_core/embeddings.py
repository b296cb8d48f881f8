"""Prompt embeddings: the text side of the joint latent, as a small vector space.

EMS manipulates these (eq. ``e(a) = e_src + sum_i a_i (e_tgt_i - e_src)``, :mod:`ems_core.manipulate`);
the samplers feed them to a backend's ``velocity``. Every operation returns a new object.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

__all__ = ["PromptEmbedding", "PromptMixture", "match_batch", "unmixed"]


@dataclass(frozen=True)
class PromptEmbedding:
    """Token embeddings ``(B, L, D)`` and pooled embedding ``(B, P)`` of a batch of prompts."""

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
        """Concatenate along the batch."""
        return PromptEmbedding(
            torch.cat([e.tokens for e in embeddings]), torch.cat([e.pooled for e in embeddings])
        )


def match_batch(embedding: PromptEmbedding, batch: int) -> PromptEmbedding:
    """``embedding`` with ``batch`` rows: itself, or a batch-1 embedding repeated."""
    if embedding.batch_size == batch:
        return embedding
    if embedding.batch_size != 1:
        raise ValueError(f"embedding batch {embedding.batch_size} does not match latent batch {batch}")
    return embedding.repeat(batch)


@dataclass(frozen=True)
class PromptMixture:
    """One edit per image as knots and weights, blended where the model's output is rather than its input:
    ``v(z, t, e(a)) = sum_j w_j v(z, t, E_j)`` (``EditConfig.blend="velocity"``, docs/method.md "Velocity blends";
    the weights of an image sum to 1). Every (image, knot) pair is one row of :attr:`embeddings`."""

    embeddings: PromptEmbedding  # one row per (image, knot)
    owners: torch.Tensor  # (R,) long: the image of each row
    weights: torch.Tensor  # (R,) float

    @classmethod
    def of(cls, parts: Sequence[Sequence[tuple[PromptEmbedding, float]]]) -> "PromptMixture":
        """From each image's ``[(E_j, w_j), ...]`` (batch-1 embeddings)."""
        rows = [(image, embedding, weight) for image, knots in enumerate(parts) for embedding, weight in knots]
        if not parts or any(not knots for knots in parts):
            raise ValueError("every image needs at least one knot")
        device = rows[0][1].tokens.device
        return cls(PromptEmbedding.cat([embedding for _, embedding, _ in rows]),
                   torch.tensor([image for image, _, _ in rows], dtype=torch.long, device=device),
                   torch.tensor([weight for _, _, weight in rows], dtype=torch.float32, device=device))

    @property
    def images(self) -> int:
        return int(self.owners.max()) + 1

    def single(self) -> PromptEmbedding | None:
        """The embeddings, one per image, when every image has one knot of weight 1 (no blend), else ``None``."""
        if self.embeddings.batch_size == self.images and bool((self.weights == 1.0).all()):
            return self.embeddings
        return None

    def spread(self, x: torch.Tensor) -> torch.Tensor:
        """Per-image rows of ``x`` (latents, times) repeated for each of the image's knots."""
        return x.index_select(0, self.owners)

    def gather(self, rows: torch.Tensor) -> torch.Tensor:
        """``sum_j w_j rows_j`` per image: ``(R, ...)`` -> ``(images, ...)``."""
        weighted = rows * self.weights.to(rows.dtype).view(-1, *([1] * (rows.dim() - 1)))
        return torch.zeros((self.images, *rows.shape[1:]), dtype=rows.dtype, device=rows.device).index_add(
            0, self.owners, weighted)


def unmixed(embedding: PromptEmbedding | PromptMixture) -> tuple[PromptEmbedding, PromptMixture | None]:
    """``(rows, mixture)`` for a sampler: a plain embedding, or a mixture with no blend (one knot of weight 1 per
    image), as one embedding per image and ``None``; otherwise the mixture's rows and the mixture itself."""
    if not isinstance(embedding, PromptMixture):
        return embedding, None
    single = embedding.single()
    return (single, None) if single is not None else (embedding.embeddings, embedding)
