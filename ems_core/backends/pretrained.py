"""Load a real SD3 / SD3.5 or FLUX.1 model (diffusers hub id or local folder) as a backend.

The pipeline class recorded in ``model_index.json`` picks the adapter (:data:`PIPELINE_ADAPTERS`):
``StableDiffusion3Pipeline`` -> :class:`~ems_core.backends.sd3.SD3Backend`, ``FluxPipeline`` ->
:class:`~ems_core.backends.flux.FluxBackend`.
Anything else, and any folder or hub id that cannot be read, raises a ``ValueError`` in one sentence:
a local folder is checked component by component before loading (weights must be safetensors: pickle
files can run code), and a hub id that is not in the local cache fails within
:data:`~ems_core.backends.hub.HUB_PROBE_TIMEOUT_S` seconds when the hub cannot be reached, instead of
after the hub client's retries (:mod:`.hub`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from diffusers import DiffusionPipeline

from ..loading import MODEL_LOAD_ERRORS, load_error_reason
from .diffusers_adapter import DiffusersBackend
from .flux import FluxBackend
from .hub import cached_model_index, hub_reachable, looks_like_hub_id, require_hub_model
from .sd3 import SD3Backend

__all__ = ["PIPELINE_ADAPTERS", "check_pipeline_folder", "default_dtype", "load_pretrained", "pipeline_class_name"]

#: ``model_index.json`` ``_class_name`` -> the adapter that wraps that pipeline's components.
PIPELINE_ADAPTERS: dict[str, type[DiffusersBackend]] = {
    "StableDiffusion3Pipeline": SD3Backend,
    "FluxPipeline": FluxBackend,
}


_PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")


def _help() -> str:
    from .registry import model_help

    return model_help()


def default_dtype(device: torch.device) -> torch.dtype:
    """float32 on CPU, bfloat16 on accelerators."""
    return torch.float32 if device.type == "cpu" else torch.bfloat16


def pipeline_class_name(name_or_path: str) -> str:
    """The ``_class_name`` in the model's ``model_index.json`` (local folder, else the hub or its cache)."""
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return str(_model_index(path, name_or_path).get("_class_name", ""))
    if not looks_like_hub_id(name_or_path):
        raise ValueError(f"Model {name_or_path!r} is neither a preset nor an existing diffusers folder; "
                         f"{_help()}.")
    cached = require_hub_model(name_or_path, _help())
    if cached is not None:
        return str(_model_index(cached.parent, name_or_path).get("_class_name", ""))
    try:
        config = DiffusionPipeline.load_config(name_or_path)
    except Exception as err:  # unknown repository, gated model, malformed id...
        raise ValueError(f"Model {name_or_path!r} is not a local folder and could not be read from the "
                         f"Hugging Face hub ({type(err).__name__}); {_help()}.") from err
    return str(config.get("_class_name", ""))


def _model_index(folder: Path, name: str) -> dict:
    index = folder / "model_index.json"
    if not index.is_file():
        raise ValueError(f"Model folder {name!r} has no model_index.json, so it is not a diffusers pipeline "
                         f"folder; {_help()}.")
    try:
        data = json.loads(index.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise ValueError(f"Model {name!r}: model_index.json is not readable JSON ({type(err).__name__})") from None
    if not isinstance(data, dict):
        raise ValueError(f"Model {name!r}: model_index.json is not a JSON object")
    return data


def check_pipeline_folder(folder: Path, name: str) -> None:
    """Refuse a diffusers folder whose components cannot load, naming the component and what is missing.

    Each component ``model_index.json`` lists needs its sub-folder; models (anything but tokenizers,
    schedulers and processors) need a ``config.json`` and safetensors weights.
    """
    for component, spec in _model_index(folder, name).items():
        if component.startswith("_") or not isinstance(spec, list) or len(spec) != 2 or spec[1] is None:
            continue
        library, class_name = spec
        sub = folder / component
        if not sub.is_dir():
            raise ValueError(f"Model {name!r}: component {component!r} ({class_name}) has no folder {component}/")
        if any(word in str(class_name) for word in ("Tokenizer", "Scheduler", "Processor", "FeatureExtractor")):
            continue
        if not (sub / "config.json").is_file():
            raise ValueError(f"Model {name!r}: component {component!r} ({class_name}) has no config.json")
        files = [f.name for f in sub.iterdir() if f.is_file()]
        if any(f.endswith((".safetensors", ".safetensors.index.json")) for f in files):
            continue
        pickles = sorted(f for f in files if f.endswith(_PICKLE_SUFFIXES))
        if pickles:
            raise ValueError(f"Model {name!r}: component {component!r} has only pickle weights ({', '.join(pickles)}); "
                             f"EMS Studio loads safetensors only (pickle files can run code): convert them first")
        raise ValueError(f"Model {name!r}: component {component!r} ({class_name}) has no weights "
                         f"(no .safetensors file in {component}/)")


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
    folder = Path(name_or_path).expanduser()
    local_only = False
    if folder.is_dir():
        check_pipeline_folder(folder, name_or_path)
    else:
        local_only = cached_model_index(name_or_path) is not None and not hub_reachable()  # no network needed
    try:
        pipeline = adapter.pipeline_class.from_pretrained(name_or_path, dtype=dtype, use_safetensors=True,
                                                          local_files_only=local_only)
    except (ValueError, *MODEL_LOAD_ERRORS) as err:  # missing, unreadable or mismatched files
        raise ValueError(f"Model {name_or_path!r} could not be loaded as a {class_name} "
                         f"({load_error_reason(err)}); {_help()}.") from None
    options = {**adapter.recommended_options(pipeline.transformer.config), **defaults}
    return adapter.from_pipeline(pipeline, name=name_or_path, device=device, dtype=dtype, cpu_offload=cpu_offload,
                                 **options)
