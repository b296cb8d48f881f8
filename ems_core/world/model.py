"""The bundled model's parts: word tokenizer, CLIP text encoder, latent autoencoder, MMDiT.

All three networks are diffusers/transformers classes (the autoencoder is a small diffusers
``ModelMixin``), so they save and load with ``save_pretrained`` / ``from_pretrained`` as safetensors.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from diffusers import ModelMixin, SD3Transformer2DModel
from diffusers.configuration_utils import ConfigMixin, register_to_config
from torch import nn
from transformers import CLIPTextConfig, CLIPTextModelWithProjection

from .spec import world_spec

PAD, EOS, UNK, BOS = "<pad>", "<eos>", "<unk>", "<bos>"  # ids 0, 1, 2, 3: EOS is not 2 (legacy path)


class WordTokenizer:
    """Whitespace word-level tokenizer: ``<bos> words... <eos> <pad>...`` of fixed length."""

    def __init__(self, vocabulary: list[str], max_length: int = 16):
        self.vocabulary = list(vocabulary)
        self.max_length = max_length
        self.index = {word: i for i, word in enumerate(self.vocabulary)}

    @classmethod
    def for_world(cls, max_length: int = 16, world: str = "shapes") -> "WordTokenizer":
        """The special tokens, then the vocabulary of ``world`` (see :func:`~ems_core.world.spec.world_spec`)."""
        return cls([PAD, EOS, UNK, BOS, *world_spec(world).vocabulary], max_length)

    @property
    def pad_id(self) -> int:
        return self.index[PAD]

    @property
    def eos_id(self) -> int:
        return self.index[EOS]

    @property
    def bos_id(self) -> int:
        return self.index[BOS]

    def unknown_words(self, text: str) -> list[str]:
        return [w for w in self._words(text) if w not in self.index]

    @staticmethod
    def _words(text: str) -> list[str]:
        return text.lower().replace(",", " ").replace(".", " ").split()

    def __call__(self, texts: list[str]) -> torch.Tensor:
        """Token ids ``(B, max_length)``; unknown words map to ``<unk>``, long texts are truncated."""
        rows = []
        for text in texts:
            ids = [self.index.get(w, self.index[UNK]) for w in self._words(text)][: self.max_length - 2]
            ids = [self.bos_id, *ids, self.eos_id]
            rows.append(ids + [self.pad_id] * (self.max_length - len(ids)))
        return torch.tensor(rows, dtype=torch.long)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "tokenizer.json").write_text(
            json.dumps({"vocabulary": self.vocabulary, "max_length": self.max_length}, indent=1))

    @classmethod
    def load(cls, folder: Path) -> "WordTokenizer":
        data = json.loads((Path(folder) / "tokenizer.json").read_text())
        return cls(data["vocabulary"], data["max_length"])


class WorldAutoencoder(ModelMixin, ConfigMixin):
    """Image <-> latent autoencoder: pixel-unshuffle(``factor``) + 3x3 convs, tanh latent, then a fixed
    per-channel normalisation ``(z - shift) / scale`` measured after training (stored in the config).

    Shapes: 64x64x3 -> unshuffle(4) -> 16x16x48 -> 16x16x8. Portraits: 128x128x3 -> unshuffle(4) ->
    32x32x48 -> 32x32x8 (every conv works on the latent grid; the decoder ends in pixel-shuffle(factor)).
    """

    @register_to_config
    def __init__(self, latent_channels: int = 8, hidden: int = 192, factor: int = 4,
                 latent_shift: tuple[float, ...] | None = None, latent_scale: tuple[float, ...] | None = None):
        super().__init__()
        pixels = 3 * factor * factor
        self.encoder = nn.Sequential(
            nn.PixelUnshuffle(factor), nn.Conv2d(pixels, hidden, 3, padding=1), nn.SiLU(),
            nn.Conv2d(hidden, hidden, 3, padding=1), nn.SiLU(), nn.Conv2d(hidden, latent_channels, 3, padding=1),
        )
        self.decoder = nn.Sequential(
            nn.Conv2d(latent_channels, hidden, 3, padding=1), nn.SiLU(),
            nn.Conv2d(hidden, hidden, 3, padding=1), nn.SiLU(),
            nn.Conv2d(hidden, hidden, 3, padding=1), nn.SiLU(),
            nn.Conv2d(hidden, pixels, 3, padding=1), nn.PixelShuffle(factor),
        )

    def _stats(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        channels = self.config.latent_channels
        shift = torch.tensor(self.config.latent_shift or [0.0] * channels, device=like.device, dtype=like.dtype)
        scale = torch.tensor(self.config.latent_scale or [1.0] * channels, device=like.device, dtype=like.dtype)
        shift, scale = shift.view(1, -1, 1, 1), scale.view(1, -1, 1, 1)
        return shift, scale

    def encode_raw(self, images: torch.Tensor) -> torch.Tensor:
        """Images (B, 3, S, S) in [-1, 1] -> tanh latent (B, 8, S / factor, S / factor), before normalisation."""
        return torch.tanh(self.encoder(images))

    def decode_raw(self, raw: torch.Tensor) -> torch.Tensor:
        return self.decoder(raw)

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1] -> normalised latent (about zero mean, unit variance per channel)."""
        raw = self.encode_raw(images)
        shift, scale = self._stats(raw)
        return (raw - shift) / scale

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """Normalised latent -> images in [-1, 1] (clamped)."""
        shift, scale = self._stats(latents)
        return self.decode_raw(latents * scale + shift).clamp(-1, 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.decode_raw(self.encode_raw(images))


@dataclass(frozen=True)
class WorldModelConfig:
    """Sizes of the bundled model (the "baby" config of nanoGPT's spirit: trains on a laptop CPU).

    The defaults are the shipped shapes model; :data:`MODEL_PRESETS` holds one config per world.
    """

    world: str = "shapes"  # the procedural world it is trained on (ems_core.world.spec)
    image_size: int = 64
    latent_channels: int = 8
    latent_size: int = 16  # image_size / autoencoder factor
    patch_size: int = 2  # -> (16 / 2)^2 = 64 image tokens
    num_layers: int = 6
    num_attention_heads: int = 6
    attention_head_dim: int = 32  # width 192
    text_hidden: int = 128
    text_layers: int = 2
    text_heads: int = 4
    max_tokens: int = 16  # <bos> + the longest caption + <eos>, or more
    autoencoder_hidden: int = 192  # conv width (on the latent grid)
    autoencoder_factor: int = 4  # pixel-unshuffle factor: image_size / latent_size

    def __post_init__(self) -> None:
        if self.latent_size * self.autoencoder_factor != self.image_size:
            raise ValueError(f"latent_size {self.latent_size} x autoencoder factor {self.autoencoder_factor} "
                             f"!= image_size {self.image_size}")
        spec = world_spec(self.world)
        if self.image_size != spec.image_size or self.max_tokens < spec.max_caption_words + 2:
            raise ValueError(f"the {self.world} world needs image_size {spec.image_size} and max_tokens >= "
                             f"{spec.max_caption_words + 2}, not {self.image_size} and {self.max_tokens}")

    def to_dict(self) -> dict:
        return asdict(self)


#: One config per world. Portraits: 128x128 images to a 32x32x8 latent (pixel-unshuffle(4)) and patch size 4, so
#: the transformer sees the same 64 image tokens as the shapes model; every 16x16 latent read age back in at most
#: 92-93% of renders (docs/training.md, "A factor-4 autoencoder"). Captions of up to 32 words (34 tokens). Its
#: transformer is 8 blocks of width 256: the former 6 x 192 drew face width right in 80% of images, this one in
#: 92% (docs/training.md, "A wider transformer").
MODEL_PRESETS: dict[str, WorldModelConfig] = {
    "shapes": WorldModelConfig(),
    "portraits": WorldModelConfig(world="portraits", image_size=128, latent_size=32, patch_size=4,
                                  autoencoder_factor=4, num_layers=8, num_attention_heads=8,
                                  max_tokens=world_spec("portraits").max_caption_words + 2),
}


def tiny_config(world: str = "shapes") -> WorldModelConfig:
    """A world's preset with a test-size transformer and text encoder (smoke tests)."""
    return replace(MODEL_PRESETS[world], num_layers=1, num_attention_heads=2, attention_head_dim=8,
                   text_hidden=32, text_layers=1, text_heads=2)


TINY_TEST_CONFIG = tiny_config("shapes")


def build_autoencoder(config: WorldModelConfig, hidden: int | None = None) -> WorldAutoencoder:
    """The autoencoder of ``config`` (``hidden`` overrides its width at the latent resolution)."""
    return WorldAutoencoder(latent_channels=config.latent_channels, hidden=hidden or config.autoencoder_hidden,
                            factor=config.autoencoder_factor)


def build_transformer(config: WorldModelConfig) -> SD3Transformer2DModel:
    width = config.num_attention_heads * config.attention_head_dim
    return SD3Transformer2DModel(
        sample_size=config.latent_size, patch_size=config.patch_size, in_channels=config.latent_channels,
        out_channels=config.latent_channels, num_layers=config.num_layers,
        num_attention_heads=config.num_attention_heads, attention_head_dim=config.attention_head_dim,
        joint_attention_dim=config.text_hidden, caption_projection_dim=width,
        pooled_projection_dim=config.text_hidden, pos_embed_max_size=config.latent_size // config.patch_size,
    )


def build_text_encoder(config: WorldModelConfig, tokenizer: WordTokenizer) -> CLIPTextModelWithProjection:
    text_config = CLIPTextConfig(
        vocab_size=len(tokenizer.vocabulary), hidden_size=config.text_hidden,
        intermediate_size=4 * config.text_hidden, num_hidden_layers=config.text_layers,
        num_attention_heads=config.text_heads, max_position_embeddings=config.max_tokens,
        projection_dim=config.text_hidden, pad_token_id=tokenizer.pad_id, bos_token_id=tokenizer.bos_id,
        eos_token_id=tokenizer.eos_id,
    )
    return CLIPTextModelWithProjection(text_config)


def encode_text(text_encoder: CLIPTextModelWithProjection, input_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids (B, L) -> (token embeddings (B, L, D), pooled (B, D))."""
    out = text_encoder(input_ids=input_ids)
    return out.last_hidden_state, out.text_embeds


def autoencoder_loss(model: WorldAutoencoder, images: torch.Tensor, latent_noise: float,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """MSE + 0.5 L1 reconstruction with Gaussian noise on the latent (robust to imperfect latents)."""
    raw = model.encode_raw(images)
    if latent_noise > 0:
        raw = raw + latent_noise * torch.randn(raw.shape, generator=generator, dtype=raw.dtype).to(raw.device)
    recon = model.decode_raw(raw)
    return F.mse_loss(recon, images) + 0.5 * F.l1_loss(recon, images)
