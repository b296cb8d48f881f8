"""Tiny randomly initialised SD3, Flux and bundled-model components, built from config (no download).

The components follow diffusers' own fast tests (``torch.manual_seed(seed)`` before each component,
``SD3Transformer2DModel(num_layers=1, attention_head_dim=8, ...)``,
``AutoencoderKL(block_out_channels=(4,))``, ``CLIPTextConfig(hidden_size=32)``), so a full edit runs in
seconds on a CPU. Their images are noise: they exist for smoke tests and for the parity tests against
diffusers' pipelines.

Tokenizers cannot be downloaded either, so they are generated here: a byte-level BPE ``CLIPTokenizer``
whose merges spell out a list of common English words (any other text falls back to single bytes), and a
unigram ``T5TokenizerFast`` over the same words plus single characters (other characters map to ``<unk>``).
"""

from __future__ import annotations

import contextlib
import functools
from collections import Counter
from typing import Any, Callable, Iterator

import torch
from diffusers import (
    AutoencoderKL,
    FlowMatchEulerDiscreteScheduler,
    FluxTransformer2DModel,
    SD3Transformer2DModel,
)
from tokenizers.pre_tokenizers import ByteLevel
from transformers import (
    CLIPTextConfig,
    CLIPTextModel,
    CLIPTextModelWithProjection,
    CLIPTokenizer,
    T5Config,
    T5EncoderModel,
    T5TokenizerFast,
)

from ..world.model import WordTokenizer, build_autoencoder, build_text_encoder, build_transformer, tiny_config
from .diffusers_adapter import DiffusersBackend
from .flux import FluxBackend
from .sd3 import SD3Backend
from .world import WorldBackend

__all__ = [
    "TINY_WORDS",
    "TINY_IMAGE_SIZE",
    "TINY_MAX_SEQUENCE_LENGTH",
    "tiny_clip_tokenizer",
    "tiny_t5_tokenizer",
    "tiny_sd3_components",
    "tiny_flux_components",
    "tiny_random_sd3",
    "tiny_random_flux",
    "tiny_random_world",
    "tiny_random_portraits",
    "seeded",
]

#: Default square image size of both tiny presets. The tiny VAE does not downsample
#: (``block_out_channels=(4,)``), so the latent is ``(4, 32, 32)``.
TINY_IMAGE_SIZE = 32
#: T5 tokens per prompt for the tiny presets (the real models use 256 or 512).
TINY_MAX_SEQUENCE_LENGTH = 32

#: Words the generated tokenizers know as single tokens; everything else is spelled out.
TINY_WORDS: tuple[str, ...] = tuple(
    """
    a an the of and or with without in on at to from by for as is are was be this that it its his her
    their my your our one two three four five many some no not very more less most little big small
    large tiny tall short long wide thin thick old young new man woman person people boy girl child
    baby face portrait photo photograph picture image painting drawing sketch illustration render
    cartoon anime style art artwork scene view close up closeup background foreground light dark
    bright dim black white red green blue yellow orange purple pink brown gray grey golden silver
    color colour colored colorful hair eyes eye nose mouth lips smile smiling smiles laughing happy
    sad angry surprised serious calm neutral expression beard moustache mustache glasses sunglasses
    hat cap helmet wearing shirt dress jacket coat suit tie scarf earrings necklace makeup bald curly
    straight blond blonde brunette wrinkles freckles skin cat cats dog dogs bird birds horse fish car
    cars house houses tree trees flower flowers mountain mountains river lake sea ocean beach sky
    cloud clouds sun moon star stars city street road forest field garden park room table chair
    window door wall floor book cup bottle ball box circle square triangle shape shapes cube sphere
    summer winter spring autumn fall snow rain snowy rainy sunny night day morning evening sunset
    sunrise indoor outdoor inside outside front behind left right top bottom center middle near far
    high low quality detailed realistic photorealistic sharp blurry soft hard smooth rough wooden
    metal glass stone plastic paper water fire ice wind sitting standing walking running looking
    holding eating playing sleeping flying swimming jumping
    """.split()
)


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Build modules from config with seeded initial weights, leaving torch's global RNG as it was.

    Module constructors draw from the global generator (as in diffusers' own tests, which call
    ``torch.manual_seed`` first); forking it keeps the caller's random stream untouched.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def _merge_pair(symbols: list[str], pair: tuple[str, str]) -> list[str]:
    merged, i = [], 0
    while i < len(symbols):
        if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == pair:
            merged.append(symbols[i] + symbols[i + 1])
            i += 2
        else:
            merged.append(symbols[i])
            i += 1
    return merged


@functools.lru_cache(maxsize=8)
def _bpe_merges(words: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """Byte-pair merges learnt on ``words`` (each counted once) until every word is one symbol.

    Plain BPE training with ties broken by the pair itself, so the result is deterministic (the
    ``tokenizers`` trainer breaks ties differently from run to run, which would reshuffle token ids).
    """
    corpus = [list(w[:-1]) + [w[-1] + "</w>"] for w in dict.fromkeys(words) if len(w) > 1]
    merges: list[tuple[str, str]] = []
    while corpus:
        counts = Counter(pair for symbols in corpus for pair in zip(symbols, symbols[1:]))
        best = min(counts, key=lambda pair: (-counts[pair], pair))
        merges.append(best)
        corpus = [s for s in (_merge_pair(symbols, best) for symbols in corpus) if len(s) > 1]
    return tuple(merges)


def tiny_clip_tokenizer(words: tuple[str, ...] = TINY_WORDS, model_max_length: int = 77) -> CLIPTokenizer:
    """A byte-level BPE ``CLIPTokenizer`` built in memory.

    The vocabulary holds the 256 byte symbols (plain and with CLIP's ``</w>`` end-of-word suffix), the
    symbols of BPE merges learnt on ``words`` (lower-case ASCII words; each becomes one token), then
    ``<|startoftext|>`` and ``<|endoftext|>`` last, as in the real CLIP vocabulary (so the end-of-text id
    is never 2). Any other text is spelled out in bytes.
    """
    alphabet = sorted(ByteLevel.alphabet())
    vocab: dict[str, int] = {}
    merges = _bpe_merges(tuple(words))
    for symbol in alphabet + [s + "</w>" for s in alphabet] + [a + b for a, b in merges]:
        vocab.setdefault(symbol, len(vocab))
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=list(merges), model_max_length=model_max_length)


def tiny_t5_tokenizer(words: tuple[str, ...] = TINY_WORDS, model_max_length: int = 512) -> T5TokenizerFast:
    """A unigram ``T5TokenizerFast`` built in memory: ``<pad>=0, </s>=1, <unk>=2``, words as ``▁word``
    pieces, and single printable ASCII characters (with and without ``▁``) as fallback pieces."""
    pieces: list[tuple[str, float]] = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("\u2581", -2.0)]
    for char in (chr(c) for c in range(33, 127)):
        pieces += [(char, -10.0), ("\u2581" + char, -11.0)]
    known = {p for p, _ in pieces}
    for word in dict.fromkeys(words):
        if "\u2581" + word not in known:
            pieces.append(("\u2581" + word, -3.0))
    return T5TokenizerFast(vocab=pieces, extra_ids=0, model_max_length=model_max_length)


def _clip_config(tokenizer: CLIPTokenizer) -> CLIPTextConfig:
    return CLIPTextConfig(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=1,
        hidden_size=32,
        intermediate_size=37,
        layer_norm_eps=1e-05,
        num_attention_heads=4,
        num_hidden_layers=5,
        vocab_size=len(tokenizer),
        hidden_act="gelu",
        projection_dim=32,
        max_position_embeddings=tokenizer.model_max_length,
    )


def _t5_encoder(tokenizer: T5TokenizerFast, d_model: int) -> T5EncoderModel:
    config = T5Config(
        vocab_size=len(tokenizer),
        d_model=d_model,
        d_kv=8,
        d_ff=37,
        num_layers=2,
        num_heads=4,
        relative_attention_num_buckets=8,
        dropout_rate=0.0,
        feed_forward_proj="gated-gelu",
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.pad_token_id,
    )
    return T5EncoderModel(config)


def _tiny_vae(latent_channels: int) -> AutoencoderKL:
    return AutoencoderKL(
        sample_size=TINY_IMAGE_SIZE,
        in_channels=3,
        out_channels=3,
        block_out_channels=(4,),
        layers_per_block=1,
        latent_channels=latent_channels,
        norm_num_groups=1,
        use_quant_conv=False,
        use_post_quant_conv=False,
        shift_factor=0.0609,
        scaling_factor=1.5035,
    )


def _seeded_eval(seed: int, build: Callable[[], torch.nn.Module]) -> torch.nn.Module:
    """``build()`` with weights seeded by ``seed`` (see :func:`seeded`), in eval mode."""
    with seeded(seed):
        return build().eval()


def tiny_sd3_components(seed: int = 0) -> dict[str, Any]:
    """Keyword arguments for ``StableDiffusion3Pipeline(**components)``: tiny random SD3 with T5.

    The scheduler is SD3's (``shift=3.0``); the models are in eval mode.
    """
    tokenizer, tokenizer_2, tokenizer_3 = tiny_clip_tokenizer(), tiny_clip_tokenizer(), tiny_t5_tokenizer()
    transformer = _seeded_eval(seed, lambda: SD3Transformer2DModel(
        sample_size=TINY_IMAGE_SIZE, patch_size=1, in_channels=4, num_layers=1, attention_head_dim=8,
        num_attention_heads=4, caption_projection_dim=32, joint_attention_dim=32, pooled_projection_dim=64,
        out_channels=4))
    return {
        "transformer": transformer,
        "scheduler": FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=3.0),
        "vae": _seeded_eval(seed, lambda: _tiny_vae(latent_channels=4)),
        "text_encoder": _seeded_eval(seed, lambda: CLIPTextModelWithProjection(_clip_config(tokenizer))),
        "tokenizer": tokenizer,
        "text_encoder_2": _seeded_eval(seed, lambda: CLIPTextModelWithProjection(_clip_config(tokenizer_2))),
        "tokenizer_2": tokenizer_2,
        "text_encoder_3": _seeded_eval(seed, lambda: _t5_encoder(tokenizer_3, d_model=32)),
        "tokenizer_3": tokenizer_3,
    }


def tiny_flux_components(seed: int = 0, guidance_embeds: bool = True) -> dict[str, Any]:
    """Keyword arguments for ``FluxPipeline(**components)``: tiny random Flux.

    Four latent channels packed 2x2 into 16 transformer channels; FLUX.1's scheduler configuration
    (resolution-dependent shift); ``guidance_embeds=True`` is FLUX.1-dev-like, ``False`` schnell-like.
    """
    tokenizer, tokenizer_2 = tiny_clip_tokenizer(), tiny_t5_tokenizer()
    transformer = _seeded_eval(seed, lambda: FluxTransformer2DModel(
        patch_size=1, in_channels=16, num_layers=1, num_single_layers=1, attention_head_dim=16,
        num_attention_heads=2, joint_attention_dim=32, pooled_projection_dim=32, guidance_embeds=guidance_embeds,
        axes_dims_rope=[4, 4, 8]))
    scheduler = FlowMatchEulerDiscreteScheduler(
        num_train_timesteps=1000, shift=3.0, use_dynamic_shifting=True, base_shift=0.5, max_shift=1.15,
        base_image_seq_len=256, max_image_seq_len=4096)
    return {
        "transformer": transformer,
        "scheduler": scheduler,
        "vae": _seeded_eval(seed, lambda: _tiny_vae(latent_channels=4)),
        "text_encoder": _seeded_eval(seed, lambda: CLIPTextModel(_clip_config(tokenizer))),
        "tokenizer": tokenizer,
        "text_encoder_2": _seeded_eval(seed, lambda: _t5_encoder(tokenizer_2, d_model=32)),
        "tokenizer_2": tokenizer_2,
    }


def _tiny_backend(backend_class: type[DiffusersBackend], components: dict[str, Any], name: str,
                  device: str | torch.device, dtype: torch.dtype | None) -> DiffusersBackend:
    return backend_class(**components, name=name, device=device, dtype=dtype or torch.float32,
                         max_sequence_length=TINY_MAX_SEQUENCE_LENGTH, image_size=TINY_IMAGE_SIZE,
                         notes=f"{name}: tiny random components (smoke tests only, images are noise)")


def tiny_random_sd3(device: str | torch.device = "cpu", dtype: torch.dtype | None = None, seed: int = 0) -> SD3Backend:
    """The ``tiny-random-sd3`` preset: :func:`tiny_sd3_components` behind :class:`SD3Backend` (32 px)."""
    return _tiny_backend(SD3Backend, tiny_sd3_components(seed), "tiny-random-sd3", device, dtype)


def tiny_random_flux(device: str | torch.device = "cpu", dtype: torch.dtype | None = None, seed: int = 0) -> FluxBackend:
    """The ``tiny-random-flux`` preset: :func:`tiny_flux_components` behind :class:`FluxBackend` (32 px)."""
    return _tiny_backend(FluxBackend, tiny_flux_components(seed), "tiny-random-flux", device, dtype)


def _tiny_world(world: str, name: str, device: str | torch.device, dtype: torch.dtype | None,
                seed: int) -> WorldBackend:
    """A world's bundled architecture (:func:`~ems_core.world.model.tiny_config`, autoencoder width 16),
    random weights."""
    config = tiny_config(world)
    tokenizer = WordTokenizer.for_world(config.max_tokens, world)
    return WorldBackend(_seeded_eval(seed, lambda: build_transformer(config)),
                        _seeded_eval(seed + 1, lambda: build_text_encoder(config, tokenizer)),
                        tokenizer, _seeded_eval(seed + 2, lambda: build_autoencoder(config, hidden=16)),
                        name=name, device=device, dtype=dtype or torch.float32, world=world)


def tiny_random_world(device: str | torch.device = "cpu", dtype: torch.dtype | None = None,
                      seed: int = 0) -> WorldBackend:
    """The ``tiny-random-world`` preset: the bundled shapes architecture at test size, random weights."""
    return _tiny_world("shapes", "tiny-random-world", device, dtype, seed)


def tiny_random_portraits(device: str | torch.device = "cpu", dtype: torch.dtype | None = None,
                          seed: int = 0) -> WorldBackend:
    """The ``tiny-random-portraits`` preset: the portraits architecture (128x128) at test size, random weights."""
    return _tiny_world("portraits", "tiny-random-portraits", device, dtype, seed)
