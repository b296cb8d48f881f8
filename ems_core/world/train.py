"""Training of a bundled model: autoencoder first, then the MMDiT + text encoder (rectified flow).

Any procedural world trains the same way (:mod:`ems_core.world.spec`); ``WorldModelConfig.world`` names
it and :data:`~ems_core.world.model.MODEL_PRESETS` holds each world's sizes. Resumable and logged: every
``checkpoint_every`` steps the full state (weights, EMA, optimiser, data RNG, step) is written to
``<run_dir>/<phase>.pt``; rerunning the same command resumes. ``export`` writes the EMA weights as
safetensors + configs into a model folder (``assets/world-model``, ``assets/world-portraits``).

    python -m ems_core world train autoencoder --run-dir runs/world --steps 3000
    python -m ems_core world train transformer --run-dir runs/world --steps 14000
    python -m ems_core world export --run-dir runs/world --out assets/world-model
    python -m ems_core world train all --world portraits --run-dir runs/portraits   (docs/training.md)
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

from .model import (WordTokenizer, WorldAutoencoder, WorldModelConfig, autoencoder_loss, build_autoencoder,
                    build_text_encoder, build_transformer, encode_text)
from .scene import to_tensor
from .spec import WorldSpec, world_spec

Log = Callable[[str], None]


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings (defaults: the measured pilot recipe, see the model card)."""

    steps: int = 14000
    batch_size: int = 32
    lr: float = 5e-4
    warmup: int = 200
    weight_decay: float = 0.01
    ema_decay: float = 0.999
    empty_caption_prob: float = 0.1  # classifier-free guidance dropout
    latent_noise: float = 0.01  # autoencoder: noise on the latent during training
    checkpoint_every: int = 250
    log_every: int = 50
    seed: int = 0
    threads: int = 2
    bf16: bool = True  # transformer phase: bfloat16 autocast (the batch's encoding, forward and backward)
    stats_batches: int = 8  # autoencoder: batches of 64 fresh images that measure the latent statistics
    device: str = "cpu"  # "cuda" trains on a GPU (rendering stays on the CPU: use workers)
    workers: int = 0  # processes that render batches ahead; 0 renders in the training process (exact resume)
    # Transformer: the share of each batch whose noise level is uniform on (0, 1) instead of logit-normal, which
    # seldom draws t near 1, where text-to-image lays a picture out (docs/training.md, "Noise levels near 1 in
    # training").
    uniform_t_share: float = 0.0
    uniform_t_from: int = 0  # the first step drawing it (the shipped portrait model: 36,000 of 39,000)
    # Transformer: run its forward (and so its backward) through torch.compile. The same arithmetic, fused: on the
    # 2-core CPU a portrait training step went from 0.94 to 0.78 s (benchmarks/train_step.py; docs/training.md,
    # "Time"), after a one-off compilation of about 2.5 minutes per machine. Needs a C++ compiler; checkpoints are
    # unchanged.
    compile: bool = False
    # Autoencoder: bfloat16 autocast for its forward and backward (weights and optimiser stay float32). On the 2-core
    # CPU a portrait step went from 1.27 to 0.75 s; 120 paired steps from the same checkpoint ended at the same mean
    # loss (0.0186) and held-out PSNR (30.4 dB) as float32 (docs/training.md, "Time").
    autoencoder_bf16: bool = False


def scene_batch(rng: random.Random, batch_size: int, world: WorldSpec | None = None) -> tuple[torch.Tensor, list[str]]:
    """Random renders of ``world`` (default shapes) as (B, 3, S, S) in [-1, 1], and their captions."""
    pairs = [(world or world_spec()).sample(rng) for _ in range(batch_size)]
    images = torch.from_numpy(np.stack([to_tensor(image) for image, _ in pairs]))
    return images, [caption for _, caption in pairs]


class RenderedBatches(torch.utils.data.IterableDataset):
    """Endless ``scene_batch`` renders, one random stream per worker process, seeded by (seed, step, worker)."""

    def __init__(self, world: str, batch_size: int, seed: int, start_step: int):
        super().__init__()
        self.world, self.batch_size, self.seed, self.start_step = world, batch_size, seed, start_step

    def __iter__(self) -> Iterator[tuple[torch.Tensor, list[str]]]:
        info = torch.utils.data.get_worker_info()
        worker = info.id if info is not None else 0
        rng = random.Random(f"{self.seed}-{self.start_step}-{worker}")
        world = world_spec(self.world)
        while True:  # uint8 (B, H, W, 3): a quarter of float32's bytes between processes
            pairs = [world.sample(rng) for _ in range(self.batch_size)]
            yield (torch.from_numpy(np.stack([np.asarray(image.convert("RGB")) for image, _ in pairs])),
                   [caption for _, caption in pairs])


def training_batches(rng: random.Random, config: TrainConfig, world: WorldSpec,
                     start_step: int) -> Iterator[tuple[torch.Tensor, list[str]]]:
    """Batches of (images, captions) for training: rendered here from ``rng`` (``workers=0``: the run resumes
    exactly), or by ``config.workers`` processes ahead of the model (a GPU outruns one renderer; each worker's
    stream is seeded by the seed, the step it started at and its index, so a resumed run sees other scenes)."""
    if config.workers <= 0:
        while True:
            yield scene_batch(rng, config.batch_size, world)
    loader = torch.utils.data.DataLoader(
        RenderedBatches(world.name, config.batch_size, config.seed, start_step), batch_size=None,
        num_workers=config.workers, prefetch_factor=4, pin_memory=config.device.startswith("cuda"),
        persistent_workers=True)
    for pixels, captions in loader:  # the same numbers as to_tensor, on the training device
        images = pixels.to(config.device, non_blocking=True).permute(0, 3, 1, 2).float() / 127.5 - 1.0
        yield images, captions


def _autocast_and_kernel(device: torch.device, bf16: bool) -> contextlib.ExitStack:
    """bfloat16 autocast on ``device``; on the CPU also the math attention kernel (measured fastest there)."""
    stack = contextlib.ExitStack()
    stack.enter_context(torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16))
    if device.type == "cpu":
        stack.enter_context(sdpa_kernel(SDPBackend.MATH))
    return stack


def lr_at(step: int, config: TrainConfig) -> float:
    """Linear warmup then cosine decay to 5% of the peak."""
    if step < config.warmup:
        return config.lr * (step + 1) / config.warmup
    progress = min(1.0, (step - config.warmup) / max(1, config.steps - config.warmup))
    return config.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))


def logit_normal_t(batch: int, generator: torch.Generator) -> torch.Tensor:
    """t = sigmoid(n), n ~ N(0, 1): SD3's logit-normal timestep density."""
    return torch.sigmoid(torch.randn(batch, generator=generator))


def uniform_share_at(step: int, config: TrainConfig) -> float:
    """The uniform share of the noise levels at ``step`` (0-based): ``uniform_t_share`` from ``uniform_t_from`` on,
    none before, so one command trains what a run continued with ``--uniform-t-share`` trained."""
    return config.uniform_t_share if step >= config.uniform_t_from else 0.0


def training_t(batch: int, generator: torch.Generator, uniform_share: float = 0.0) -> torch.Tensor:
    """Noise levels of one batch: logit-normal, but the first ``round(uniform_share * batch)`` uniform on (0, 1).

    With no uniform share it draws exactly what :func:`logit_normal_t` draws (runs resume unchanged).
    """
    t = logit_normal_t(batch, generator)
    uniform = round(uniform_share * batch)
    if uniform:
        t[:uniform] = torch.rand(uniform, generator=generator)
    return t


def _ema_update(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    with torch.no_grad():
        torch._foreach_lerp_(list(ema.parameters()), list(model.parameters()), 1 - decay)


def _save(path: Path, state: dict) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


def _load_checkpoint(path: Path, model_config: WorldModelConfig) -> dict:
    """A checkpoint's state; a ``ValueError`` when it was written for another model config (runs that
    predate configs in checkpoints resume as they are)."""
    state = torch.load(path, weights_only=False, map_location="cpu")
    saved = state.get("model_config")
    if saved is not None and WorldModelConfig(**saved) != model_config:
        raise ValueError(f"{path} is a checkpoint of another model ({WorldModelConfig(**saved).world} world, "
                         f"{saved}); use another --run-dir or the same --world and size")
    return state


def train_autoencoder(run_dir: Path, config: TrainConfig, model_config: WorldModelConfig = WorldModelConfig(),
                      log: Log = print) -> WorldAutoencoder:
    """Phase 1: the image <-> latent autoencoder of ``model_config``'s world; then measures per-channel
    latent statistics."""
    torch.set_num_threads(config.threads)
    run_dir.mkdir(parents=True, exist_ok=True)
    ckpt = run_dir / "autoencoder.pt"
    world = world_spec(model_config.world)
    device = torch.device(config.device)
    torch.manual_seed(config.seed)
    model = build_autoencoder(model_config).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr * 2, weight_decay=0.0)
    rng, gen, step = random.Random(config.seed), torch.Generator().manual_seed(config.seed), 0
    if ckpt.exists():
        state = _load_checkpoint(ckpt, model_config)
        model.load_state_dict(state["model"]); opt.load_state_dict(state["opt"])
        rng.setstate(state["rng"]); gen.set_state(state["gen"]); step = state["step"]
        log(f"resumed autoencoder at step {step}")
    log(json.dumps({"phase": "autoencoder", "world": world.name, "params": sum(p.numel() for p in model.parameters()),
                    "config": {k: v for k, v in model.config.items() if not k.startswith("_")}}))
    start, batches = time.time(), training_batches(rng, config, world, step)
    while step < config.steps:
        images, _ = next(batches)
        for group in opt.param_groups:
            group["lr"] = lr_at(step, config) * 2
        with _autocast_and_kernel(device, config.autoencoder_bf16):
            loss = autoencoder_loss(model, images.to(device, non_blocking=True), config.latent_noise, gen)
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
        step += 1
        if step % config.log_every == 0:
            log(json.dumps({"phase": "autoencoder", "step": step, "loss": round(loss.item(), 5),
                            "s_per_step": round((time.time() - start) / config.log_every, 3)}))
            start = time.time()
        if step % config.checkpoint_every == 0 or step == config.steps:
            _save(ckpt, {"model": model.state_dict(), "opt": opt.state_dict(), "rng": rng.getstate(),
                         "gen": gen.get_state(), "step": step, "model_config": model_config.to_dict()})
    # Per-channel normalisation of the latent, measured on fresh scenes.
    with torch.no_grad():
        raws = torch.cat([model.encode_raw(scene_batch(random.Random(10_000 + i), 64, world)[0].to(device))
                          for i in range(config.stats_batches)])
        shift = raws.mean(dim=(0, 2, 3)).tolist()
        scale = raws.std(dim=(0, 2, 3)).tolist()
    model.register_to_config(latent_shift=tuple(shift), latent_scale=tuple(scale))
    model = model.cpu()
    model.save_pretrained(run_dir / "autoencoder")
    log(json.dumps({"phase": "autoencoder", "done": True, "latent_shift": shift, "latent_scale": scale}))
    return model


def train_transformer(run_dir: Path, config: TrainConfig, model_config: WorldModelConfig = WorldModelConfig(),
                      log: Log = print) -> None:
    """Phase 2: rectified-flow matching of the MMDiT and (jointly) the text encoder on frozen latents.

    Loss ``|| v(z_t, t, c) - (eps - z_0) ||^2`` with ``z_t = (1 - t) z_0 + t eps``, logit-normal ``t`` (a
    ``uniform_t_share`` of it uniform from step ``uniform_t_from`` on),
    captions dropped to ``""`` with probability ``empty_caption_prob``.
    """
    torch.set_num_threads(config.threads)
    ckpt = run_dir / "transformer.pt"
    world = world_spec(model_config.world)
    device = torch.device(config.device)
    autoencoder = WorldAutoencoder.from_pretrained(run_dir / "autoencoder").eval().requires_grad_(False).to(device)
    latent = (autoencoder.config.latent_channels, model_config.image_size // autoencoder.config.factor)
    if latent != (model_config.latent_channels, model_config.latent_size):
        raise ValueError(f"the autoencoder in {run_dir} makes {latent[0]}x{latent[1]}x{latent[1]} latents of "
                         f"{model_config.image_size}x{model_config.image_size} images, the transformer expects "
                         f"{model_config.latent_channels}x{model_config.latent_size}x{model_config.latent_size}")
    tokenizer = WordTokenizer.for_world(model_config.max_tokens, model_config.world)
    torch.manual_seed(config.seed)
    transformer = build_transformer(model_config).to(device)
    text_encoder = build_text_encoder(model_config, tokenizer).to(device)
    params = list(transformer.parameters()) + list(text_encoder.parameters())
    opt = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    ema_t, ema_e = copy.deepcopy(transformer).requires_grad_(False), copy.deepcopy(text_encoder).requires_grad_(False)
    rng, gen, step = random.Random(config.seed + 1), torch.Generator().manual_seed(config.seed + 1), 0
    if ckpt.exists():
        state = _load_checkpoint(ckpt, model_config)
        transformer.load_state_dict(state["transformer"]); text_encoder.load_state_dict(state["text_encoder"])
        ema_t.load_state_dict(state["ema_transformer"]); ema_e.load_state_dict(state["ema_text_encoder"])
        if "opt" in state:  # a run seeded from an exported model (seed_run_from_export) starts a fresh optimiser
            opt.load_state_dict(state["opt"]); rng.setstate(state["rng"]); gen.set_state(state["gen"])
        step = state["step"]
        log(f"resumed transformer at step {step}")
    forward = torch.compile(transformer) if config.compile else transformer  # checkpoints keep ``transformer``
    n_params = sum(p.numel() for p in transformer.parameters())
    log(json.dumps({"phase": "transformer", "params": n_params, "config": model_config.to_dict(),
                    "train": asdict(config)}))
    start, running, batches = time.time(), 0.0, training_batches(rng, config, world, step)
    while step < config.steps:
        images, captions = next(batches)
        captions = [c if rng.random() >= config.empty_caption_prob else "" for c in captions]
        with torch.no_grad(), _autocast_and_kernel(device, config.bf16):  # bf16-rounded latents
            z0 = autoencoder.encode(images.to(device, non_blocking=True)).float()  # (B, C, h, w): the latent grid
        t = training_t(config.batch_size, gen, uniform_share_at(step, config)).to(device)
        eps = torch.randn(z0.shape, generator=gen).to(device)
        z_t = (1 - t.view(-1, 1, 1, 1)) * z0 + t.view(-1, 1, 1, 1) * eps
        for group in opt.param_groups:
            group["lr"] = lr_at(step, config)
        with _autocast_and_kernel(device, config.bf16):
            tokens, pooled = encode_text(text_encoder, tokenizer(captions).to(device))
            v = forward(hidden_states=z_t, timestep=t * 1000, encoder_hidden_states=tokens,
                        pooled_projections=pooled).sample
        loss = F.mse_loss(v.float(), eps - z0)
        opt.zero_grad(set_to_none=True); loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        _ema_update(ema_t, transformer, config.ema_decay); _ema_update(ema_e, text_encoder, config.ema_decay)
        step += 1
        running += loss.detach()
        if step % config.log_every == 0:
            log(json.dumps({"phase": "transformer", "step": step, "loss": round(running.item() / config.log_every, 5),
                            "lr": round(lr_at(step, config), 6),
                            "s_per_step": round((time.time() - start) / config.log_every, 3)}))
            start, running = time.time(), 0.0
        if step % config.checkpoint_every == 0 or step == config.steps:
            _save(ckpt, {"transformer": transformer.state_dict(), "text_encoder": text_encoder.state_dict(),
                         "ema_transformer": ema_t.state_dict(), "ema_text_encoder": ema_e.state_dict(),
                         "opt": opt.state_dict(), "rng": rng.getstate(), "gen": gen.get_state(), "step": step,
                         "model_config": model_config.to_dict()})


def convert(folder: Path, out: Path, dtype: torch.dtype, log: Log = print) -> None:
    """Rewrite a model folder's weights in ``dtype`` (float16 halves the files; backends load them as float32);
    the tokenizer, ``world_model.json`` and the model card are copied. ``out`` may be ``folder`` (replaced only
    once the whole copy is written)."""
    import shutil
    import tempfile

    from diffusers import SD3Transformer2DModel
    from transformers import CLIPTextModelWithProjection

    folder, out = Path(folder), Path(out)
    if not (folder / "world_model.json").exists():
        raise FileNotFoundError(f"{folder} is not a bundled-model folder (no world_model.json)")
    staging = Path(tempfile.mkdtemp(prefix="convert-", dir=out.parent if out.parent.exists() else None))
    try:
        for name, cls in (("transformer", SD3Transformer2DModel), ("text_encoder", CLIPTextModelWithProjection),
                          ("autoencoder", WorldAutoencoder)):
            cls.from_pretrained(folder / name, use_safetensors=True).to(dtype).save_pretrained(staging / name)
        shutil.copytree(folder / "tokenizer", staging / "tokenizer")
        for extra in ("world_model.json", "MODEL_CARD.md"):
            if (folder / extra).exists():
                shutil.copy2(folder / extra, staging / extra)
        replaced = out.with_name(out.name + ".replaced") if out.exists() else None
        if replaced is not None:
            shutil.rmtree(replaced, ignore_errors=True)
            out.rename(replaced)
        try:
            shutil.move(str(staging), str(out))
        except OSError:
            if replaced is not None and not out.exists():
                replaced.rename(out)  # the old folder back, as it was
            raise
        if replaced is not None:
            shutil.rmtree(replaced)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log(f"wrote {folder} in {str(dtype).removeprefix('torch.')} to {out}")


def exported_model_config(folder: Path) -> WorldModelConfig:
    """The model config an exported model folder was trained with (its ``world_model.json``)."""
    return WorldModelConfig(**json.loads((Path(folder) / "world_model.json").read_text())["model_config"])


def seed_run_from_export(folder: Path, run_dir: Path, log: Log = print) -> WorldModelConfig:
    """Start a run folder from an exported model (``world export``): its autoencoder (as float32) and its
    transformer and text encoder weights as both the trained and the EMA weights, at its ``train_step``; the
    optimiser starts afresh. Continues a model whose full checkpoint is not at hand (trained on another machine).
    Refuses a run folder that already holds a transformer checkpoint."""
    from diffusers import SD3Transformer2DModel
    from transformers import CLIPTextModelWithProjection

    folder, run_dir = Path(folder), Path(run_dir)
    if (run_dir / "transformer.pt").exists():
        raise ValueError(f"{run_dir} already holds a transformer checkpoint: resume it, or seed another run folder")
    meta = json.loads((folder / "world_model.json").read_text())
    model_config = exported_model_config(folder)
    run_dir.mkdir(parents=True, exist_ok=True)
    WorldAutoencoder.from_pretrained(folder / "autoencoder").float().save_pretrained(run_dir / "autoencoder")
    transformer = SD3Transformer2DModel.from_pretrained(folder / "transformer", use_safetensors=True).float()
    text_encoder = CLIPTextModelWithProjection.from_pretrained(folder / "text_encoder", use_safetensors=True).float()
    weights = {"transformer": transformer.state_dict(), "text_encoder": text_encoder.state_dict()}
    _save(run_dir / "transformer.pt", {**weights, "ema_transformer": weights["transformer"],
                                       "ema_text_encoder": weights["text_encoder"], "step": meta["train_step"],
                                       "model_config": model_config.to_dict()})
    log(f"seeded {run_dir} from {folder} at step {meta['train_step']}")
    return model_config


def export(run_dir: Path, out: Path | None = None, log: Log = print, dtype: torch.dtype = torch.float32,
           generation_guidance: float = 4.0, generation_shift: float = 1.0) -> None:
    """Write the EMA weights of the last checkpoint as a model folder (safetensors + configs); ``out``
    defaults to the world's bundled folder (:attr:`WorldSpec.model_dir`, e.g. ``assets/world-portraits``).

    ``world_model.json`` names the world (``"world"``), the model config and the training step; ``dtype``
    (float32, or float16 to halve the files) is the stored weights' type (backends load them as float32);
    ``generation_guidance`` and ``generation_shift`` the model's text-to-image guidance and schedule shift (measure
    them with ``world eval --guidance / --shift``; edits keep the unshifted schedule, ``sampling_shift``).
    """
    state = torch.load(run_dir / "transformer.pt", weights_only=False, map_location="cpu")
    model_config = WorldModelConfig(**state["model_config"])
    tokenizer = WordTokenizer.for_world(model_config.max_tokens, model_config.world)
    transformer = build_transformer(model_config)
    transformer.load_state_dict(state["ema_transformer"])
    text_encoder = build_text_encoder(model_config, tokenizer)
    text_encoder.load_state_dict(state["ema_text_encoder"])
    out = out or world_spec(model_config.world).model_dir
    out.mkdir(parents=True, exist_ok=True)
    autoencoder = WorldAutoencoder.from_pretrained(run_dir / "autoencoder")
    for folder, module in (("transformer", transformer), ("text_encoder", text_encoder), ("autoencoder", autoencoder)):
        (module if dtype == torch.float32 else module.to(dtype)).save_pretrained(out / folder)
    tokenizer.save(out / "tokenizer")
    (out / "world_model.json").write_text(json.dumps(
        {"world": model_config.world, "model_config": model_config.to_dict(), "train_step": state["step"],
         "sampling_shift": 1.0, "generation_guidance": generation_guidance, "generation_shift": generation_shift},
        indent=1))
    log(f"exported step {state['step']} of the {model_config.world} model to {out}")
