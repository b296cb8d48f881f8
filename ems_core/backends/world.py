"""The bundled models (``assets/world-model``, ``assets/world-portraits``) behind the backend contract."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from diffusers import SD3Transformer2DModel
from transformers import CLIPTextModelWithProjection

from ..config import EditConfig
from ..embeddings import PromptEmbedding
from ..extract.captioners import Captioner
from ..loading import MODEL_LOAD_ERRORS, load_error_reason
from ..sampling.schedules import shifted_sigmas
from ..world.model import WordTokenizer, WorldAutoencoder, encode_text
from ..world.spec import WorldSpec, world_spec
from .contract import Backend, BackendInfo

__all__ = ["BUNDLED_MODEL_DIR", "PORTRAIT_DIRECTION_START_TIME", "PORTRAIT_EDIT_CONFIG", "WORLD_EDIT_CONFIG",
           "WorldBackend", "load_world_backend"]

#: The repository's ``assets/world-model``: found from a checkout or an editable install (``pip install -e .``);
#: a wheel does not carry it (pass the folder to ``load_backend`` instead).
BUNDLED_MODEL_DIR = world_spec("shapes").model_dir

#: The bundled model's edit settings (docs/method.md, "Cheap moves").
WORLD_EDIT_CONFIG = EditConfig(steps=5, start_time=0.8, guidance=3.0, source_guidance=1.5, refine_iters=0)
#: The portrait model's: the same budget (8 evaluations a move: 4 steps from t0 = 0.95) at guidance 2, chosen
#: on held-out portrait cases by benchmarks/tune_portrait_edit.py (docs/method.md, "The portrait world"); between
#: a slider's knots the sampler blends the knots' velocities (12 evaluations a move there; docs/method.md,
#: "Velocity blends": smile sweeps).
PORTRAIT_EDIT_CONFIG = EditConfig(steps=4, start_time=0.95, guidance=2.0, refine_iters=0, blend="velocity")
_EDIT_CONFIGS = {"shapes": WORLD_EDIT_CONFIG, "portraits": PORTRAIT_EDIT_CONFIG}
#: Where the portrait model's latent directions live: at its edit t0 (0.95) they paint blotches and transfer less;
#: at 0.7 LOCO's top direction transfers to 10 of 10 portraits (docs/method.md, "Measured on the portrait model").
PORTRAIT_DIRECTION_START_TIME = 0.7
_DIRECTION_START_TIMES = {"shapes": None, "portraits": PORTRAIT_DIRECTION_START_TIME}
#: Text-to-image guidance of a bundled model whose ``world_model.json`` sets no ``generation_guidance``.
DEFAULT_GENERATION_GUIDANCE = 4.0


class WorldBackend(Backend):
    """MMDiT (``SD3Transformer2DModel``) + CLIP text encoder + ``WorldAutoencoder`` on one procedural world.

    Shapes: 64x64 scenes to ``(B, 8, 16, 16)`` latents; portraits: 128x128 faces to ``(B, 8, 32, 32)`` (the
    autoencoder's ``latent_channels`` at a 4x reduction; patch size 2 and 4, so 64 image tokens in both). The
    transformer's position embedding covers exactly that grid, so the model works at its world's image size only.
    """

    def __init__(self, transformer: SD3Transformer2DModel, text_encoder: CLIPTextModelWithProjection,
                 tokenizer: WordTokenizer, autoencoder: WorldAutoencoder, name: str = "world",
                 sampling_shift: float = 1.0, device: str | torch.device = "cpu",
                 dtype: torch.dtype = torch.float32, world: str = "shapes",
                 generation_guidance: float = DEFAULT_GENERATION_GUIDANCE, generation_shift: float | None = None):
        self.world: WorldSpec = world_spec(world)
        self.device, self.dtype = torch.device(device), dtype
        self.transformer = _placed(transformer, self.device, dtype)
        self.text_encoder = _placed(text_encoder, self.device, dtype)
        self.autoencoder = _placed(autoencoder, self.device, dtype)
        self.tokenizer = tokenizer
        self.sampling_shift = sampling_shift  # edits' schedule (their settings were measured on it)
        self.generation_shift = sampling_shift if generation_shift is None else generation_shift  # text-to-image
        # Generation: the model's own guidance (world_model.json; its model card measures it). Edits: no refinement,
        # 8 evaluations a slider move (shapes: 5 steps, guidance 2 from t0 = 0.8; portraits: 4 steps, guidance 2
        # from 0.95), measured in docs/method.md.
        self.info = BackendInfo(name=name, family="world", image_size=self.world.image_size, default_steps=20,
                                default_guidance=generation_guidance, edit_config=_EDIT_CONFIGS[self.world.name],
                                direction_start_time=_DIRECTION_START_TIMES[self.world.name],
                                notes=f"bundled {self.world.name}-world MMDiT",
                                extras={"examples": str(self.world.examples_dir)})

    def encode_prompt(self, prompts: list[str]) -> PromptEmbedding:
        ids = self.tokenizer(prompts).to(self.device)  # (B, L)
        tokens, pooled = encode_text(self.text_encoder, ids)  # (B, L, D), (B, D)
        return PromptEmbedding(tokens, pooled)

    def token_ids(self, prompt: str) -> list[list[int]]:
        """The word tokenizer's ids, ``<bos> words <eos> <pad>...`` (one text encoder)."""
        return [self.tokenizer([prompt])[0].tolist()]

    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        latents = self.autoencoder.encode(images.to(self.device, self.dtype))  # (B, 8, L, L) from (B, 3, S, S)
        return latents.to(images.device, images.dtype)

    def decode_latent(self, latents: torch.Tensor) -> torch.Tensor:
        images = self.autoencoder.decode(latents.to(self.device, self.dtype))  # (B, 3, S, S)
        return images.to(latents.device, latents.dtype)

    def velocity(self, latents: torch.Tensor, t: torch.Tensor, embedding: PromptEmbedding) -> torch.Tensor:
        v = self.transformer(
            hidden_states=latents.to(self.device, self.dtype), timestep=t.to(self.device, self.dtype) * 1000,
            encoder_hidden_states=embedding.tokens.to(self.dtype), pooled_projections=embedding.pooled.to(self.dtype),
        ).sample  # (B, 8, L, L)
        return v.to(latents.device, latents.dtype)

    def sigmas(self, num_steps: int, height: int | None = None, width: int | None = None) -> torch.Tensor:
        """The shifted linear schedule (one resolution, so ``height``/``width`` change nothing)."""
        return shifted_sigmas(num_steps, self.sampling_shift)

    def generation_sigmas(self, num_steps: int, height: int | None = None, width: int | None = None) -> torch.Tensor:
        """Text-to-image's schedule: shifted by the model's ``generation_shift`` (world_model.json; its model card
        measures it), which may differ from the edits' ``sampling_shift``."""
        return shifted_sigmas(num_steps, self.generation_shift)

    def latent_shape(self, height: int | None = None, width: int | None = None) -> tuple[int, int, int]:
        size = self.info.image_size
        if (height or size, width or size) != (size, size):
            raise ValueError(f"the bundled model works at {size}x{size} only, not {height}x{width}")
        factor = self.autoencoder.config.factor
        return (self.autoencoder.config.latent_channels, size // factor, size // factor)

    def default_captioner(self) -> Captioner:
        """The world's oracle captioner (``WorldCaptioner`` for shapes, ``PortraitCaptioner`` for portraits)."""
        return self.world.captioner()


def _placed(module: torch.nn.Module, device: torch.device, dtype: torch.dtype) -> torch.nn.Module:
    """Frozen, in eval mode, on ``device`` and in ``dtype`` (cast only when needed: diffusers warns)."""
    if next(module.parameters()).dtype != dtype:
        module = module.to(dtype=dtype)
    return module.to(device=device).eval().requires_grad_(False)


def load_world_backend(folder: str | Path | None = None, device: str | torch.device = "cpu",
                       dtype: torch.dtype | None = None, world: str = "shapes") -> WorldBackend:
    """Load a bundled model from ``folder`` (default: ``world``'s, e.g. ``assets/world-model``), offline.

    The model's world is the one its ``world_model.json`` names (the shipped shapes model names none:
    shapes); ``world`` only picks the default folder.
    """
    spec = world_spec(world)
    folder = Path(folder) if folder is not None else spec.model_dir
    bundled = folder == spec.model_dir
    if not (folder / "world_model.json").exists():
        if bundled and spec.name != "shapes":
            raise FileNotFoundError(f"the {spec.name} model ({spec.backend_name}) is not trained yet: "
                                    f"assets/{spec.model_folder} holds no world_model.json; train and export it "
                                    f"with {spec.training_commands} (docs/training.md)")
        hint = (f" (a wheel install carries the code only: pass a checkout's assets/{spec.model_folder} folder as "
                "the model)" if bundled else "")
        raise FileNotFoundError(f"bundled model not found in {folder}{hint}; or train and export it with "
                                f"{spec.training_commands}")
    name = spec.backend_name if bundled else str(folder)
    try:
        meta = json.loads((folder / "world_model.json").read_text())
        model_world = world_spec(meta.get("world", "shapes"))
        parts = (SD3Transformer2DModel.from_pretrained(folder / "transformer", use_safetensors=True),
                 CLIPTextModelWithProjection.from_pretrained(folder / "text_encoder", use_safetensors=True),
                 WordTokenizer.load(folder / "tokenizer"),
                 WorldAutoencoder.from_pretrained(folder / "autoencoder"))
    except (ValueError, *MODEL_LOAD_ERRORS) as err:
        raise ValueError(f"Model {name!r} (a bundled-model folder) could not be loaded "
                         f"({load_error_reason(err)})") from None
    return WorldBackend(*parts, name=name, sampling_shift=float(meta.get("sampling_shift", 1.0)),
                        device=device, dtype=dtype or torch.float32, world=model_world.name,
                        generation_guidance=float(meta.get("generation_guidance", DEFAULT_GENERATION_GUIDANCE)),
                        generation_shift=float(meta.get("generation_shift", meta.get("sampling_shift", 1.0))))
