"""Choose the baselines' settings on the bundled model: a small grid on held-out cases (seed 99, not the
benchmark's seed), scored like ``bench quality`` (docs/benchmark.md, "Baseline settings").

    python benchmarks/tune_baselines.py --cases 30 --out benchmarks/results/tune_baselines.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import time

import torch

from ems_core.backends import load_backend
from ems_core.baselines import FlowEditSettings, RefineOnlySettings
from ems_core.bench.quality import QualityMethod, _baseline_method, aggregate, method_costs, score_world, world_suite


def evaluate(backend, cases, method: QualityMethod) -> dict:
    started = time.perf_counter()
    with torch.inference_mode():
        records = [score_world(case, method.edit(backend, case), method.name) for case in cases]
        costs = method_costs(backend, [method], cases[0])
    summary = aggregate(records, costs)[method.name]
    keys = ("target_hit", "preservation", "both", "psnr_degree0", "sde", "nfe_per_edit")
    return {"method": method.name, "settings": method.settings.__dict__, **{k: summary[k] for k in keys},
            "seconds": round(time.perf_counter() - started, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="world")
    parser.add_argument("--cases", type=int, default=30)
    parser.add_argument("--seed", type=int, default=99)
    parser.add_argument("--only", choices=["flowedit", "refine-only"], default=None)
    parser.add_argument("--out")
    args = parser.parse_args()
    torch.set_num_threads(1)
    backend = load_backend(args.model)
    cases = world_suite(args.cases, 0, 0, args.seed, backend.info.image_size)
    grid = []
    if args.only in (None, "flowedit"):
        for (steps, skip), source_g, target_g in itertools.product([(10, 2), (10, 4), (20, 4), (20, 8)], [1.5],
                                                                    [2.0, 3.0, 4.5]):
            grid.append(_baseline_method("flowedit", FlowEditSettings(steps, skip, source_g, target_g)))
    if args.only in (None, "refine-only"):
        for iters, lr in itertools.product([8, 16], [0.5, 1.0]):
            grid.append(_baseline_method("refine-only", RefineOnlySettings(iters=iters, lr=lr)))
    rows = []
    for method in grid:
        rows.append(evaluate(backend, cases, method))
        print(json.dumps(rows[-1]), flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
