"""Choose the portrait model's edit settings: EMS ("ours") over a small grid of noise level ``t0`` and guidance at
the cheap-move budget (8 evaluations a move: 5 steps from 0.8, 4 from 0.9), on held-out portrait cases (seed 99, not the benchmark's
11), scored like ``bench quality --model world-portraits`` (``ems_core/bench/portrait_quality.py``).

    python benchmarks/tune_portrait_edit.py --cases 44 --pairs 8 --out benchmarks/results/tune_portrait_edit.json

``--noise-seeds 0,1`` scores every setting under each seed of the difference sampler's noise (``EditConfig.seed``;
the app's is 0): one draw is shared by every edit of a run, so a single seed can flatter or sink a setting.
``--noise-grids 0,1,4`` does the same over ``EditConfig.noise_grid`` (0: the raw draw; docs/method.md).
``--edit-shifts 1,2,3`` over the schedule the edits sample on (the model's ``sampling_shift``, ``t' = s t / (1 + (s -
1) t)`` before the tail below ``t0`` is taken: a larger shift puts more of the steps near ``t0``).

Prints one JSON line per setting and, last, the whole grid as one JSON object.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time

import torch

from ems_core import EditSession
from ems_core.backends import load_backend
from ems_core.bench.portrait_quality import portrait_suite, score_portrait
from ems_core.bench.quality import _session_method, aggregate


def evaluate(backend, cases, config) -> dict:
    started = time.perf_counter()
    method = _session_method("ours", config)
    with torch.inference_mode():
        records = [score_portrait(case, method.edit(backend, case), "ours") for case in cases]
    summary = aggregate(records, {})["ours"]
    pairs = summary["pairs"] or {}
    probe = EditSession(backend, cases[0].image, prompt=cases[0].prompt, config=config)
    return {"start_time": config.start_time, "guidance": config.guidance, "steps": config.steps,
            "edit_shift": backend.sampling_shift,
            "noise_seed": config.seed, "noise_grid": config.noise_grid, "source_guidance": config.source_guidance,
            "nfe_per_move": probe.edit_nfe(),
            "target_hit": summary["target_hit"], "preservation": summary["preservation"], "both": summary["both"],
            "pairs_both": pairs.get("both"), "psnr_degree0": summary["psnr_degree0"], "sde": summary["sde"],
            "kept": summary["overall"]["kept"], "seconds": round(time.perf_counter() - started, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="world-portraits")
    parser.add_argument("--cases", type=int, default=44)
    parser.add_argument("--pairs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=99)
    parser.add_argument("--start-times", default="0.7,0.8,0.9")
    parser.add_argument("--guidances", default="1.5,2,3,4")
    parser.add_argument("--pairs-of", default=None,
                        help="instead of the grid: 't0:g[:steps[:gs]],...' settings to compare (gs: the "
                             "source_guidance, from which the edit's guidance ramps in with the degree)")
    parser.add_argument("--noise-seeds", default="0", help="comma-separated EditConfig.seed values to score each "
                                                               "setting under (default: 0, the app's)")
    parser.add_argument("--noise-grids", help="comma-separated EditConfig.noise_grid values (default: the model's)")
    parser.add_argument("--edit-shifts", help="comma-separated schedule shifts for the edits (default: the model's "
                                              "sampling_shift)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    backend = load_backend(args.model)
    cases = portrait_suite(args.cases, 0, args.pairs, args.seed, backend.info.image_size)
    base = backend.info.edit_config.with_(steps=5, start_time=0.8, guidance=2.0)  # the grid's base: the shapes settings
    grid = []
    settings = ([tuple(float(x) for x in pair.split(":")) for pair in args.pairs_of.split(",")] if args.pairs_of else
                itertools.product((float(v) for v in args.start_times.split(",")),
                                  (float(v) for v in args.guidances.split(","))))
    for start_time, guidance, *rest in settings:
        steps, source_guidance = (rest + [None, None])[:2]
        grids = [int(g) for g in args.noise_grids.split(",")] if args.noise_grids else [base.noise_grid]
        shifts = [float(v) for v in args.edit_shifts.split(",")] if args.edit_shifts else [backend.sampling_shift]
        for noise_grid, noise_seed, shift in itertools.product(grids, (int(s) for s in args.noise_seeds.split(",")),
                                                               shifts):
            backend.sampling_shift = shift
            config = base.with_(start_time=start_time, guidance=guidance, seed=noise_seed, noise_grid=noise_grid,
                                steps=int(steps) if steps else base.steps, source_guidance=source_guidance)
            row = evaluate(backend, cases, config)
            grid.append(row)
            print(json.dumps({k: v for k, v in row.items() if k != "kept"}), flush=True)
    report = {"command": "python benchmarks/tune_portrait_edit.py", "model": args.model, "cases": args.cases,
              "pairs": args.pairs, "seed": args.seed, "base": base.to_dict(), "grid": grid}
    if args.out:
        with open(args.out, "w") as handle:
            handle.write(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
