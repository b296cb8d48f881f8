"""Backends: the model contract and the registry that loads a model by preset name, hub id or folder."""

from __future__ import annotations

from pathlib import Path

import torch

from .base import Backend, BackendInfo, PromptEmbedding

DEFAULT_MODEL = "world"

#: Presets that need no download. ``world`` is the bundled model (the default); the ``tiny-random-*``
#: presets are randomly initialised SD3/Flux components built from config, for smoke tests only:
#: their images are noise.
PRESETS: dict[str, str] = {
    "world": "the bundled MMDiT trained on the procedural shapes world (assets/world-model)",
    "tiny-random-world": "the bundled architecture at test size, random weights (smoke tests only)",
    "tiny-random-sd3": "tiny random SD3 components (smoke tests only, images are noise)",
    "tiny-random-flux": "tiny random Flux components (smoke tests only, images are noise)",
}

__all__ = ["Backend", "BackendInfo", "PromptEmbedding", "PRESETS", "DEFAULT_MODEL", "load_backend",
           "parse_dtype"]


def parse_dtype(name: str | torch.dtype | None) -> torch.dtype | None:
    """``"float32" | "fp32" | "bfloat16" | "bf16" | "float16" | "fp16" | None`` -> torch dtype."""
    if name is None or isinstance(name, torch.dtype):
        return name
    table = {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16,
             "bf16": torch.bfloat16, "float16": torch.float16, "fp16": torch.float16}
    if name not in table:
        raise ValueError(f"unknown dtype {name!r}; choose one of {sorted(table)}")
    return table[name]


def load_backend(
    name_or_path: str = DEFAULT_MODEL,
    device: str | torch.device = "cpu",
    dtype: str | torch.dtype | None = None,
    cpu_offload: bool = False,
) -> Backend:
    """Load a backend by preset name (see :data:`PRESETS`), diffusers hub id or local folder.

    Args:
        name_or_path: ``"world"`` (default), ``"tiny-random-sd3"``, ``"tiny-random-flux"``, a folder
            holding the bundled model's files, or an SD3/SD3.5/Flux.1 diffusers repository id or folder.
        device: torch device for the model ("cpu", "cuda", "cuda:1", ...).
        dtype: weights dtype; ``None`` picks float32 on CPU and bfloat16 on GPU for diffusers models.
        cpu_offload: keep diffusers components on the CPU and move each to ``device`` only while used.
    """
    device = torch.device(device)
    torch_dtype = parse_dtype(dtype)
    if name_or_path == "world":
        from .world import load_world_backend

        return load_world_backend(device=device, dtype=torch_dtype)
    if name_or_path == "tiny-random-world":
        from .world_testing import tiny_random_world

        return tiny_random_world()
    if name_or_path == "tiny-random-sd3":
        from .tiny import tiny_random_sd3

        return tiny_random_sd3(device=device, dtype=torch_dtype or torch.float32)
    if name_or_path == "tiny-random-flux":
        from .tiny import tiny_random_flux

        return tiny_random_flux(device=device, dtype=torch_dtype or torch.float32)
    path = Path(name_or_path)
    if path.is_dir() and (path / "world_model.json").exists():
        from .world import load_world_backend

        return load_world_backend(path, device=device, dtype=torch_dtype)
    from .pretrained import load_pretrained

    return load_pretrained(name_or_path, device=device, dtype=torch_dtype, cpu_offload=cpu_offload)
