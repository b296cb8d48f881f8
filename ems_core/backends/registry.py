"""The backend registry: load a model by registered name, diffusers hub id or folder.

``register_backend(name, loader, defaults)`` adds a name; :func:`load_backend` looks names up here
first, then treats the argument as a folder of the bundled model's files, then as an SD3/Flux
diffusers hub id or folder (the pipeline class in ``model_index.json`` picks the adapter). Known hub
ids are registered with the settings their model cards recommend where a model's config cannot tell
(e.g. the SD3.5 turbo checkpoints share their config with the full ones).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Protocol

import torch

from .contract import Backend

__all__ = ["DEFAULT_MODEL", "BackendEntry", "check_device", "register_backend", "registered_backends",
           "load_backend", "parse_dtype"]

DEFAULT_MODEL = "world"


class BackendLoader(Protocol):
    def __call__(self, name_or_path: str, *, device: torch.device, dtype: torch.dtype | None, cpu_offload: bool,
                 **defaults: Any) -> Backend: ...


@dataclass(frozen=True)
class BackendEntry:
    """A registered name: how to load it, with which defaults, and a line for ``--help``."""

    name: str
    loader: BackendLoader
    description: str = ""
    defaults: Mapping[str, Any] = field(default_factory=dict)  # keyword options passed to the loader


_REGISTRY: dict[str, BackendEntry] = {}


def register_backend(name: str, loader: BackendLoader, defaults: Mapping[str, Any] | None = None,
                     description: str = "") -> None:
    """Make ``load_backend(name)`` call ``loader(name, device=, dtype=, cpu_offload=, **defaults)``."""
    if not name.strip():
        raise ValueError("a backend needs a name")
    _REGISTRY[name] = BackendEntry(name, loader, description, dict(defaults or {}))


def registered_backends() -> dict[str, str]:
    """Registered names and their descriptions (presets first, then known hub ids)."""
    return {name: entry.description for name, entry in _REGISTRY.items()}


def parse_dtype(name: str | torch.dtype | None) -> torch.dtype | None:
    """``"float32" | "fp32" | "bfloat16" | "bf16" | "float16" | "fp16" | None`` -> torch dtype."""
    if name is None or isinstance(name, torch.dtype):
        return name
    table = {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16,
             "bf16": torch.bfloat16, "float16": torch.float16, "fp16": torch.float16}
    if name not in table:
        raise ValueError(f"unknown dtype {name!r}; choose one of {sorted(table)}")
    return table[name]


def check_device(device: str | torch.device) -> torch.device:
    """``device`` as a ``torch.device``; a ``ValueError`` in one line when this machine lacks it (a CUDA or
    MPS device asked of a machine or a torch build without one), before any model is loaded."""
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(f"unknown device {device!r}; use cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            build = "a CPU-only torch build" if torch.version.cuda is None else "no GPU visible"
            raise ValueError(f"device {str(device)!r} is not available here ({build}, torch {torch.__version__}); "
                             f"use cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(f"device {str(device)!r} does not exist: this machine has "
                             f"{torch.cuda.device_count()} CUDA device(s)")
    elif device.type == "mps":
        if not torch.backends.mps.is_available():
            raise ValueError("device 'mps' is not available here (Apple-silicon GPUs only); use cpu")
    elif device.type != "cpu":
        raise ValueError(f"unsupported device {str(device)!r}; use cpu, cuda, cuda:N or mps")
    return device


def load_backend(
    name_or_path: str = DEFAULT_MODEL,
    device: str | torch.device = "cpu",
    dtype: str | torch.dtype | None = None,
    cpu_offload: bool = False,
) -> Backend:
    """Load a backend by registered name (see :func:`registered_backends`), diffusers hub id or folder.

    Args:
        name_or_path: ``"world"`` (default), ``"world-portraits"``, ``"tiny-random-sd3"``,
            ``"tiny-random-flux"``, ``"tiny-random-world"``, ``"tiny-random-portraits"``, a folder holding a
            bundled model's files, or an SD3/SD3.5/Flux.1 diffusers repository id or folder.
        device: torch device for the model ("cpu", "cuda", "cuda:1", ...).
        dtype: weights dtype; ``None`` picks float32 on CPU and bfloat16 on GPU for diffusers models.
        cpu_offload: keep diffusers components on the CPU and move each to ``device`` only while used.
    """
    options = {"device": check_device(device), "dtype": parse_dtype(dtype), "cpu_offload": cpu_offload}
    entry = _REGISTRY.get(name_or_path)
    if entry is not None:
        return entry.loader(name_or_path, **options, **entry.defaults)
    if (Path(name_or_path) / "world_model.json").is_file():
        return _world(name_or_path, **options)
    return _pretrained(name_or_path, **options)


# ----- the loaders --------------------------------------------------------------------------------

def _world(name_or_path: str, *, device: torch.device, dtype: torch.dtype | None, cpu_offload: bool,
           world: str | None = None) -> Backend:
    """A bundled model: the folder of ``world`` (a registered name), else the folder ``name_or_path``."""
    from .world import load_world_backend

    if world is None:
        return load_world_backend(name_or_path, device, dtype)
    return load_world_backend(None, device, dtype, world=world)


def _tiny(build: str) -> BackendLoader:
    def load(name_or_path: str, *, device: torch.device, dtype: torch.dtype | None, cpu_offload: bool) -> Backend:
        from . import tiny

        return getattr(tiny, build)(device=device, dtype=dtype)

    return load


def model_help() -> str:
    """What ``load_backend`` accepts, for error messages."""
    presets = ", ".join(name for name in registered_backends() if "/" not in name)
    return (f"use a preset ({presets}) or a diffusers folder or hub id of an SD3/SD3.5 "
            f"(StableDiffusion3Pipeline) or FLUX.1 (FluxPipeline) model")


def _pretrained(name_or_path: str, *, device: torch.device, dtype: torch.dtype | None, cpu_offload: bool,
                **defaults: Any) -> Backend:
    from .hub import looks_like_hub_id, require_hub_model

    if looks_like_hub_id(name_or_path):
        require_hub_model(name_or_path, model_help())  # fail fast, before diffusers' slow import
    from .pretrained import load_pretrained

    return load_pretrained(name_or_path, device=device, dtype=dtype, cpu_offload=cpu_offload, **defaults)


register_backend("world", _world, defaults={"world": "shapes"},
                 description="the bundled MMDiT trained on the procedural shapes world (assets/world-model)")
register_backend("world-portraits", _world, defaults={"world": "portraits"},
                 description="the bundled MMDiT of the procedural portraits world, 128x128 (assets/world-portraits; "
                             "trained with docs/training.md)")
register_backend("tiny-random-world", _tiny("tiny_random_world"),
                 description="the bundled architecture at test size, random weights (smoke tests only)")
register_backend("tiny-random-portraits", _tiny("tiny_random_portraits"),
                 description="the portraits model's architecture (128x128) at test size, random weights (smoke tests "
                             "only)")
register_backend("tiny-random-sd3", _tiny("tiny_random_sd3"),
                 description="tiny random SD3 components (smoke tests only, images are noise)")
register_backend("tiny-random-flux", _tiny("tiny_random_flux"),
                 description="tiny random Flux components (smoke tests only, images are noise)")
register_backend("stabilityai/stable-diffusion-3.5-large-turbo", _pretrained,
                 defaults={"default_steps": 4, "default_guidance": 1.0},
                 description="SD3.5 Large Turbo (hub id; 4 steps, no guidance)")
