"""A randomly initialised bundled-model backend at tiny size, for fast tests (no weights needed)."""

from __future__ import annotations

import torch

from ..world.model import TINY_TEST_CONFIG, WordTokenizer, WorldAutoencoder, build_text_encoder, build_transformer
from .world import WorldBackend


def tiny_random_world(seed: int = 0) -> WorldBackend:
    """The bundled architecture at test size with random weights (images are noise)."""
    tokenizer = WordTokenizer.for_world(TINY_TEST_CONFIG.max_tokens)
    torch.manual_seed(seed)
    transformer = build_transformer(TINY_TEST_CONFIG)
    torch.manual_seed(seed + 1)
    text_encoder = build_text_encoder(TINY_TEST_CONFIG, tokenizer)
    torch.manual_seed(seed + 2)
    autoencoder = WorldAutoencoder(hidden=16)
    return WorldBackend(transformer, text_encoder, tokenizer, autoencoder, name="tiny-random-world")
