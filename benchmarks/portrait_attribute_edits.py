"""One attribute's edits on the portrait model, many of them, under several noise draws: the default edit ("ours",
the backend's edit settings) on that attribute's single cases of a large held-out suite (seed 97, not the
benchmark's 11), scored like ``bench quality --model world-portraits``; per noise grid and seed
(``EditConfig.noise_grid``, ``EditConfig.seed``) the target hit, "kept", "both", what was not kept, and each miss
as "source word -> read word (value)".

    python benchmarks/portrait_attribute_edits.py --attribute background --noise-seeds 0,1,2 \
        --out benchmarks/results/portrait_background_edits_grid4.json

For reading where one attribute's edits fail, not for choosing settings (``tune_portrait_edit.py`` does that).
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from collections import Counter

import torch

from ems_core.backends import load_backend
from ems_core.bench.portrait_quality import portrait_suite, score_portrait
from ems_core.bench.quality import _session_method
from ems_core.portraits.oracle import measure


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="world-portraits")
    parser.add_argument("--attribute", required=True, help="a case label, e.g. background, 'face width'")
    parser.add_argument("--suite-cases", type=int, default=1100, help="singles in the suite (a tenth per attribute)")
    parser.add_argument("--seed", type=int, default=97, help="of the suite")
    parser.add_argument("--noise-seeds", default="0")
    parser.add_argument("--noise-grids", help="comma-separated EditConfig.noise_grid values (default: the model's)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    backend = load_backend(args.model)
    cases = [c for c in portrait_suite(args.suite_cases, 0, 0, args.seed, backend.info.image_size)
             if c.label == args.attribute]
    if not cases:
        parser.error(f"no {args.attribute!r} cases in the suite")
    rows = []
    grids = ([int(g) for g in args.noise_grids.split(",")] if args.noise_grids
             else [backend.info.edit_config.noise_grid])
    for noise_grid, noise_seed in itertools.product(grids, [int(s) for s in args.noise_seeds.split(",")]):
        config = backend.info.edit_config.with_(seed=noise_seed, noise_grid=noise_grid)
        method = _session_method("ours", config)
        started = time.perf_counter()
        with torch.inference_mode():
            records = [score_portrait(case, method.edit(backend, case), "ours") for case in cases]
        misses = []
        for case, record in zip(cases, records):
            if not record["target_hit"]:
                name, word = next(iter(case.targets.items()))
                read = record["readings"][case.degrees.index(1.0)]
                value = read["values"][name]
                misses.append(f"{case.case_id}: {measure(case.image).words[name]} -> {word}, read "
                              f"{read['words'][name]} ({'-' if value is None else f'{value:.3f}'})")
        n = len(records)
        row = {"noise_grid": noise_grid, "noise_seed": noise_seed, "cases": n,
               "target_hit": round(sum(r["target_hit"] for r in records) / n, 3),
               "kept": round(sum(r["preserved"] for r in records) / n, 3),
               "both": round(sum(r["both"] for r in records) / n, 3),
               "not_kept": dict(Counter(k for r in records for k, ok in r["kept"].items() if not ok)),
               "misses": misses, "seconds": round(time.perf_counter() - started, 1)}
        rows.append(row)
        print(json.dumps({k: v for k, v in row.items() if k != "misses"}), flush=True)
    report = {"command": "python benchmarks/portrait_attribute_edits.py", "model": args.model,
              "attribute": args.attribute, "suite_cases": args.suite_cases, "seed": args.seed,
              "config": backend.info.edit_config.to_dict(), "rows": rows}
    if args.out:
        with open(args.out, "w") as handle:
            handle.write(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
