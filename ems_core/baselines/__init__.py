"""Edits users would pick instead of EMS, each a small pure function over the backend contract.

One signature for all (``edit(backend, image_latent, source_embedding, target_embedding, uncond,
settings, generator) -> latent``):

- :mod:`.flowedit`: FlowEdit (Kulikov et al. 2024), inversion-free, coupled source/target paths;
- :mod:`.invert_resample`: plain (explicit, unguided) inversion to ``t0``, re-sampled under the target;
- :mod:`.sdedit`: SDEdit, seeded noise to ``t0``, re-sampled under the target;
- :mod:`.regenerate`: text-to-image from seeded noise under the target prompt;
- :mod:`.refine_only`: EMS's constrained score distillation alone, from the source latent.

``image_latent`` is ``(1, C, h, w)``; ``target_embedding`` has ``B`` rows (a degree sweep is one call) and
the result is ``(B, C, h, w)``. Noise is drawn from ``generator`` once per use and shared by the batch,
so each image of a sweep equals its single-image call. Gradients are the caller's business.
"""

from __future__ import annotations

from typing import Any, Callable

from ..backends.contract import BackendInfo
from .flowedit import FLOWEDIT_PRESETS, FlowEditSettings, flowedit
from .invert_resample import InvertResampleSettings, invert_resample
from .refine_only import RefineOnlySettings, refine_only
from .regenerate import RegenerateSettings, regenerate
from .sdedit import SDEditSettings, sdedit

__all__ = ["BASELINES", "FLOWEDIT_PRESETS", "FlowEditSettings", "InvertResampleSettings", "RefineOnlySettings",
           "RegenerateSettings", "SDEditSettings", "default_settings", "flowedit", "invert_resample", "refine_only",
           "regenerate", "sdedit"]

#: name -> edit function (the common signature above).
BASELINES: dict[str, Callable[..., Any]] = {
    "flowedit": flowedit, "invert-resample": invert_resample, "sdedit": sdedit, "regenerate": regenerate,
    "refine-only": refine_only,
}


def default_settings(name: str, info: BackendInfo):
    """The settings a baseline runs with on a backend (docs/benchmark.md says why these).

    Samplers that start from ``t0`` (SDEdit, invert-resample) take the backend's *edit* steps, start time and
    guidance, so they differ from EMS only in where the start latent comes from; regenerate takes the
    model's text-to-image defaults; FlowEdit its per-family preset; refine-only the edit config's SDS
    step, proximity and noise range with more iterations.
    """
    edit = info.edit_config
    if name == "flowedit":
        return FLOWEDIT_PRESETS.get(info.family, FLOWEDIT_PRESETS["world"])
    if name == "sdedit":
        return SDEditSettings(info.default_edit_steps, edit.start_time, info.default_edit_guidance)
    if name == "invert-resample":
        return InvertResampleSettings(info.default_edit_steps, edit.start_time, info.default_edit_guidance)
    if name == "regenerate":
        return RegenerateSettings(info.default_steps, info.default_guidance)
    if name == "refine-only":
        return RefineOnlySettings(lr=edit.refine_lr, proximity=edit.refine_proximity, t_max=edit.refine_t_max,
                                  t_min=edit.refine_t_min)
    raise KeyError(f"unknown baseline {name!r} (known: {', '.join(BASELINES)})")
