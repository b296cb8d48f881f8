"""FlowEdit (Kulikov et al., 2024): inversion-free editing with a rectified flow.

For ``t`` from ``t_start`` down to 0 on the model's schedule, with fresh noise ``n`` each step:

    z_src = (1 - t) x_src + t n
    z_tgt = z_edit + z_src - x_src
    V     = v_g(z_tgt, t, e_tgt; g_tgt) - v_g(z_src, t, e_src; g_src)     (CFG on each branch)
    z_edit <- z_edit + (t_next - t) V

starting from ``z_edit = x_src`` (the paper's algorithm 1 with ``n_avg = 1`` and ``n_min = 0``). When the two
embeddings and the two guidance scales are equal, ``V`` is zero and the source comes back untouched (with the
published unequal scales, degree 0 still moves the image a little). Cost: 4 evaluations a step for one image
(the source branch is shared by a batch of targets), all in one transformer call.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..backends.contract import Backend
from ..embeddings import PromptEmbedding, match_batch
from ..sampling import euler_step
from ._noise import shared_noise

__all__ = ["FLOWEDIT_PRESETS", "FlowEditSettings", "flowedit"]


@dataclass(frozen=True)
class FlowEditSettings:
    steps: int = 10  # length of the full 1 -> 0 schedule
    skip: int = 2  # leading steps not run (the paper's n_max = steps - skip)
    source_guidance: float = 1.5  # CFG of the source branch
    target_guidance: float = 3.0  # CFG of the target branch

    def __post_init__(self) -> None:
        if not 0 <= self.skip < self.steps:
            raise ValueError(f"skip must be in [0, steps), got {self.skip} of {self.steps}")


#: Per backend family. ``world``: chosen on 30 held-out cases (docs/benchmark.md); ``sd3`` and ``flux``:
#: the paper's published defaults (SD3: 50 steps, first 17 skipped, CFG 3.5 / 13.5; Flux: 28 steps, 24 run,
#: 1.5 / 5.5), not measured here.
FLOWEDIT_PRESETS: dict[str, FlowEditSettings] = {
    "world": FlowEditSettings(),
    "sd3": FlowEditSettings(steps=50, skip=17, source_guidance=3.5, target_guidance=13.5),
    "flux": FlowEditSettings(steps=28, skip=4, source_guidance=1.5, target_guidance=5.5),
}


def flowedit(backend: Backend, image_latent: torch.Tensor, source_embedding: PromptEmbedding,
             target_embedding: PromptEmbedding, uncond: PromptEmbedding, settings: FlowEditSettings,
             generator: torch.Generator) -> torch.Tensor:
    """Edit ``image_latent`` (1, C, h, w) toward each row of ``target_embedding``: (B, C, h, w)."""
    batch = target_embedding.batch_size
    times = backend.sigmas(settings.steps)[settings.skip:]  # (n + 1,), from t_start down to 0
    # One transformer call a step: rows [uncond, source] at z_src (1 each), [uncond, target] at z_tgt (B each).
    embeddings = PromptEmbedding.cat([uncond, source_embedding, match_batch(uncond, batch), target_embedding])
    x_src = image_latent
    z_edit = x_src.expand(batch, *x_src.shape[1:])
    for i in range(len(times) - 1):
        t, t_next = float(times[i]), float(times[i + 1])
        noise = shared_noise(x_src, 1, generator)  # (1, C, h, w), fresh each step
        z_src = (1 - t) * x_src + t * noise  # (1, C, h, w)
        z_tgt = z_edit + z_src - x_src  # (B, C, h, w)
        rows = torch.cat([z_src, z_src, z_tgt, z_tgt])  # (2 + 2B, C, h, w)
        v = backend.velocity(rows, torch.full((rows.shape[0],), t, device=rows.device), embeddings)
        v_src = v[0:1] + settings.source_guidance * (v[1:2] - v[0:1])  # CFG, source branch
        v_tgt = v[2:2 + batch] + settings.target_guidance * (v[2 + batch:] - v[2:2 + batch])  # CFG, target branch
        z_edit = euler_step(z_edit, v_tgt - v_src, t_next - t)
    return z_edit
