"""Choose the edit defaults by measurement: a grid over start time, guidance and refinement.

For random scenes of the bundled world and one random attribute edit each (colour, shape, size,
horizontal, vertical or background to another value), render at degree 1 and measure with the oracle:

- success: the edited attribute reads as the target word;
- preservation: every other attribute keeps its source word;
- both: success and preservation at once (the number to maximise);
- recon PSNR: degree-0 reconstruction against the source render.

    python benchmarks/edit_grid.py --scenes 48 --out benchmarks/results/edit_grid.json
    python benchmarks/edit_grid.py --scenes 240 --seed 11 --steps 5,20 --start-times 0.7,0.8 --guidances 2 \
        --refine 0,2 --out benchmarks/results/cheap_moves.json     # the 8-evaluation default (docs/method.md)
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

from ems_core import EditConfig, load_backend
from ems_core.bench.edits import evaluate_edits
from ems_core.world.edits import edit_cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="world")
    parser.add_argument("--scenes", type=int, default=48)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--start-times", default="0.5,0.7,0.85")
    parser.add_argument("--guidances", default="1,2.5,4")
    parser.add_argument("--refine", default="0,2")
    parser.add_argument("--steps", default="20", help="full-schedule steps (the edit runs the part below t0)")
    parser.add_argument("--out")
    args = parser.parse_args()
    backend = load_backend(args.model)
    cases = edit_cases(args.scenes, args.seed)
    rows = []
    grid = itertools.product([int(v) for v in args.steps.split(",")], [float(v) for v in args.start_times.split(",")],
                             [float(v) for v in args.guidances.split(",")], [int(v) for v in args.refine.split(",")])
    for steps, start_time, guidance, refine in grid:
        started = time.perf_counter()
        config = EditConfig(steps=steps, start_time=start_time, guidance=guidance, refine_iters=refine)
        row = {"steps": steps, "start_time": start_time, "guidance": guidance, "refine_iters": refine,
               **evaluate_edits(backend, cases, config), "seconds": round(time.perf_counter() - started, 1)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    best = max(rows, key=lambda r: (r["both"], r["recon_psnr"]))
    print(json.dumps({"best": best}))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"scenes": args.scenes, "seed": args.seed, "rows": rows, "best": best},
                                             indent=1) + "\n")


if __name__ == "__main__":
    main()
