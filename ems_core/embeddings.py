"""Prompt embeddings: the text side of the joint latent, as a small vector space.

EMS manipulates these (eq. ``e(a) = e_src + sum_i a_i (e_tgt_i - e_src)``, :mod:`ems_core.manipulate`);
the samplers feed them to a backend's ``velocity``. Every operation returns a new object.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["PromptEmbedding", "match_batch"]


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
