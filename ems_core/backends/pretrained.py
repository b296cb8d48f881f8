"""Load a real SD3 / SD3.5 or FLUX.1 model (diffusers hub id or local folder) as a backend.

The pipeline class recorded in ``model_index.json`` picks the adapter (:data:`PIPELINE_ADAPTERS`):
``StableDiffusion3Pipeline`` -> :class:`~ems_core.backends.sd3.SD3Backend`, ``FluxPipeline`` ->
:class:`~ems_core.backends.flux.FluxBackend`.
Anything else, and any folder or hub id that cannot be read, raises a ``ValueError`` in one sentence.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from diffusers import DiffusionPipeline

from .diffusers_adapter import DiffusersBackend
from .flux import FluxBackend
from .sd3 import SD3Backend

__all__ = ["PIPELINE_ADAPTERS", "load_pretrained", "pipeline_class_name", "default_dtype"]

#: ``model_index.json`` ``_class_name`` -> the adapter that wraps that pipeline's components.
PIPELINE_ADAPTERS: dict[str, type[DiffusersBackend]] = {
    "StableDiffusion3Pipeline": SD3Backend,
    "FluxPipeline": FluxBackend,
}


def _help() -> str:
    from .registry import registered_backends

    presets = ", ".join(name for name in registered_backends() if "/" not in name)
    return (f"use a preset ({presets}) or a diffusers folder or hub id of an SD3/SD3.5 "
            f"(StableDiffusion3Pipeline) or FLUX.1 (FluxPipeline) model")


def default_dtype(device: torch.device) -> torch.dtype:
    """float32 on CPU, bfloat16 on accelerators."""
    return torch.float32 if device.type == "cpu" else torch.bfloat16


def _looks_like_path(name: str) -> bool:
    return name.startswith(("/", ".", "~")) or "\\" in name or name.count("/") != 1


def pipeline_class_name(name_or_path: str) -> str:
    """The ``_class_name`` in the model's ``model_index.json`` (local folder, else the hub)."""
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        index = path / "model_index.json"
        if not index.is_file():
            raise ValueError(f"Model folder {name_or_path!r} has no model_index.json, so it is not a "
                             f"diffusers pipeline folder; {_help()}.")
        return str(json.loads(index.read_text()).get("_class_name", ""))
    if path.exists() or _looks_like_path(name_or_path):
        raise ValueError(f"Model {name_or_path!r} is neither a preset nor an existing diffusers folder; "
                         f"{_help()}.")
    try:
        config = DiffusionPipeline.load_config(name_or_path)
    except Exception as err:  # offline, unknown repository, gated model, malformed id...
        raise ValueError(f"Model {name_or_path!r} is not a local folder and could not be read from the "
                         f"Hugging Face hub ({type(err).__name__}); {_help()}.") from err
    return str(config.get("_class_name", ""))


def load_pretrained(
    name_or_path: str,
    device: str | torch.device = "cpu",
    dtype: torch.dtype | None = None,
    cpu_offload: bool = False,
    **defaults: Any,
) -> DiffusersBackend:
    """Load an SD3/SD3.5 or FLUX.1 diffusers model by hub id or local folder.

    Args:
        name_or_path: hub id (``"stabilityai/stable-diffusion-3.5-medium"``) or a folder holding
            ``model_index.json``.
        device: device the models run on.
        dtype: weights dtype; ``None`` is float32 on CPU and bfloat16 elsewhere.
        cpu_offload: keep models on the CPU and move each to ``device`` only while it runs.
        defaults: adapter options that override the adapter's ``recommended_options`` (``default_steps``, ...).

    Raises:
        ValueError: the model cannot be found or read, or is not an SD3 or Flux pipeline.
    """
    device = torch.device(device)
    dtype = dtype or default_dtype(device)
    class_name = pipeline_class_name(name_or_path)
    adapter = PIPELINE_ADAPTERS.get(class_name)
    if adapter is None:
        kind = class_name or "pipeline of unknown class"
        raise ValueError(f"Model {name_or_path!r} is a {kind}, which EMS Studio does not support; {_help()}.")
    try:
        pipeline = adapter.pipeline_class.from_pretrained(name_or_path, dtype=dtype)
    except OSError as err:  # missing or unreadable weights
        reason = (str(err).splitlines() or [type(err).__name__])[0]
        raise ValueError(f"Model {name_or_path!r} could not be loaded as a {class_name} ({reason}); "
                         f"{_help()}.") from err
    options = {**adapter.recommended_options(pipeline.transformer.config), **defaults}
    return adapter.from_pipeline(pipeline, name=name_or_path, device=device, dtype=dtype, cpu_offload=cpu_offload,
                                 **options)
