"""The Sample step's variants on the quality suite: which sampler, guidance, schedule and noise seed.

Every variant is a difference sampler (ems_core/sampling/difference.py) on the same seeded world cases as
``bench quality`` (240 singles, 48 of them sweeps, 36 pairs, seed 11), scored by the same oracle code:

- ``diff-S-T-G[-sN]``: S-step schedule cut at t0 = T, the same guidance G on both sides (degree 0 is exact),
  noise seed N (default 0): the editor's sampler;
- ``diff-S-T-Gs/Gt[-sN]``: unequal guidance, source Gs and target Gt (FlowEdit's published form: with S=10,
  T=0.8, 1.5/3 it is FlowEdit with this benchmark's settings);
- ``cond-S-T-xK[-sN]``: conditional velocities only, the difference scaled by K (one evaluation a step);
- a ``-gA/B/C`` part before the seed: the times below t0 are A, B, C, then 0, instead of the S-step schedule's
  (``diff-5-0.8-2-g0.5/0.25/0.1`` is the default's 4 steps with more of them at low noise);
- a ``-nG`` part after the seed: the noise's block means on a G x G grid removed (``EditConfig.noise_grid``;
  ``-n0`` is the raw draw, every row before 2026-12-06); without it, the model's edit settings' grid;
- a ``-rel`` part after those: with unequal guidance, what degree 0 moves subtracted from every degree
  (``z(a) - (z(0) - z_src)``, one more target pass per image), so degree 0 is the source again;
- a ``-ramp`` part instead: the target side's guidance ramped in with the degree, ``Gs + min(1, |a|) (Gt - Gs)``
  (``EditConfig.guidance_ramp`` 1, the editor's way; ``diff-5-0.8-1.5/3-ramp`` is the bundled model's default);
- a ``-fixed`` suffix: one noise draw shared by every step instead of a fresh one each step.

    python benchmarks/sample_step.py --variants diff-5-0.8-2,diff-5-0.8-2-s1,diff-10-0.8-1.5/3 --out benchmarks/results/sample_step.json

Prints one line per variant (hit / kept / both on the singles, pairs, rho, degree-0 PSNR, SDE, evaluations a
move) and appends them to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

import torch

from ems_core import load_backend
from ems_core.bench.quality import QualityMethod, aggregate, run_quality, world_suite
from ems_core.embeddings import PromptEmbedding
from ems_core.images import pil_to_tensor, tensor_to_pil
from ems_core.manipulate import manipulate_paths
from ems_core.sampling import (SourcePath, difference_sample, guided_velocity, ramped_guidance, source_path,
                               tail_schedule)

PATTERN = re.compile(r"^(diff|cond)-(\d+)-([\d.]+)-(?:x)?([\d.]+)(?:/([\d.]+))?(?:-g([\d./]+))?"
                     r"(?:-s(\d+))?(?:-n(\d+))?(-rel|-ramp)?(-fixed)?$")


def scaled(velocity, factor: float):
    return lambda z, t: factor * velocity(z, t)


def variant(name: str, backend) -> tuple[QualityMethod, int]:
    """The method a variant name describes and its evaluations a move."""
    match = PATTERN.match(name)
    if match is None:
        raise SystemExit(f"bad variant {name!r} (e.g. diff-5-0.8-2, diff-10-0.8-1.5/3-s1, cond-10-0.8-x1.5)")
    kind, steps, start, first, second, grid, seed, noise_grid, exact, fixed = match.groups()
    steps, start, seed = int(steps), float(start), int(seed or 0)
    noise_grid = backend.info.edit_config.noise_grid if noise_grid is None else int(noise_grid)
    below = [float(t) for t in grid.split("/")] if grid else None
    if below is not None and not (all(a > b for a, b in zip([start, *below], below)) and below[-1] > 0):
        raise SystemExit(f"bad grid in {name!r}: times must fall from t0 towards 0")

    def schedule() -> torch.Tensor:
        if below is None:
            return tail_schedule(backend.sigmas(steps), start)
        return torch.tensor([start, *below, 0.0])
    g_source = float(first)
    g_target = float(second) if second else g_source

    def edit(backend, case):
        x = backend.encode_image(pil_to_tensor(case.image).to(backend.device))
        source, uncond = backend.encode_prompt([case.prompt]), backend.encode_prompt([""])
        paths = [[backend.encode_prompt([p]) for p in a.path_prompts(case.prompt)] for a in case.attributes]
        edits = PromptEmbedding.cat([manipulate_paths(source, paths, [d] * len(paths)) for d in case.degrees])
        times = schedule()
        generator = torch.Generator().manual_seed(seed)
        if kind == "cond":
            source_v, target_v = (scaled(guided_velocity(backend, e), g_source) for e in (source, edits))
        else:
            source_v = guided_velocity(backend, source, uncond, g_source)
            ramp = [ramped_guidance(g_target, g_source, 1.0, abs(d)) for d in case.degrees]
            target_v = guided_velocity(backend, edits, uncond, ramp if exact == "-ramp" else g_target)
        if fixed:  # one noise draw for every step: each one-step path from a generator seeded alike
            parts = [source_path(source_v, x, times[i:i + 2], torch.Generator().manual_seed(seed),
                                 noise_grid=noise_grid) for i in range(len(times) - 1)]
            path = SourcePath(times, torch.cat([q.noisy for q in parts]), torch.cat([q.velocity for q in parts]))
        else:
            path = source_path(source_v, x, times, generator, noise_grid=noise_grid)
        edited = difference_sample(target_v, x, path, len(case.degrees))
        if exact == "-rel":  # minus what degree 0 moves (unequal guidance): degree 0 is the source again
            edited = edited - (difference_sample(guided_velocity(backend, source, uncond, g_target), x, path) - x)
        return tensor_to_pil(backend.decode_latent(edited))

    per_step = 1 if kind == "cond" or g_target == 1.0 else 2
    moves = (len(schedule()) - 1) * per_step
    return QualityMethod(name, kind, name, edit, lambda b, c: (0, 0)), moves


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", required=True, help="comma-separated names (see the module docstring)")
    parser.add_argument("--cases", type=int, default=240)
    parser.add_argument("--sweeps", type=int, default=8)
    parser.add_argument("--pairs", type=int, default=36)
    parser.add_argument("--seed", type=int, default=11, help="of the cases (bench quality's)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    backend = load_backend("world")
    cases = world_suite(args.cases, args.sweeps, args.pairs, args.seed, backend.info.image_size)
    rows = []
    for name in args.variants.split(","):
        method, nfe_move = variant(name, backend)
        started = time.perf_counter()
        summary = aggregate(run_quality(backend, cases, [method]).records, {})[name]
        row = {"variant": name, "cases": len(cases), "nfe_per_move": nfe_move,
               **{k: summary[k] for k in ("target_hit", "preservation", "both", "rho_size", "rho_position",
                                          "psnr_degree0", "sde")},
               "pairs_both": summary["pairs"]["both"] if summary["pairs"] else None,
               "both_by_attribute": {k: v["both"] for k, v in summary["by_attribute"].items()},
               "wall_s": round(time.perf_counter() - started, 1)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.out:
        out = Path(args.out)
        previous = json.loads(out.read_text())["rows"] if out.exists() else []
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"command": "python benchmarks/sample_step.py", "rows": previous + rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
