"""Choose a bundled model's text-to-image schedule: generation faithfulness (``world eval``, no inversions) for
every (guidance, shift, steps) setting asked, on one caption set, in one JSON file and a table.

    python benchmarks/generation_schedule.py --model <export> --captions 200 --seed 1 --threads 2 \
        --shifts 1 2 3 4 6 8 12 16 24 --out benchmarks/results/generation_schedule_v2.json

Choose on captions other than the model card's (``--seed 1``; ``world eval`` scores on seed 0), then read the
choice back once on the held-out set. The file's ``chosen`` applies a rule (``chosen_schedule``: the best weakest
attribute, then the best all-at-once, then the smallest shift), which ``benchmarks/portrait_release.sh`` follows. The shift moves the steps of the schedule ``t' = s t / (1 + (s - 1) t)``
towards high noise; edits keep their own schedule (``sampling_shift``), so this changes text-to-image only.
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import torch

from ems_core.bench.world_model import chosen_schedule, run_eval


def sweep(model: str, captions: int, seed: int, guidances: list[float], shifts: list[float],
          steps: list[int]) -> list[dict]:
    """One row per setting: its faithfulness per attribute, all at once, and the face-width offsets."""
    rows = []
    for guidance, shift, n_steps in itertools.product(guidances, shifts, steps):
        report = run_eval(model, n_captions=captions, n_inversions=0, steps=n_steps, guidance=guidance, seed=seed,
                          generation_shift=shift)
        rows.append({"guidance": guidance, "shift": shift, "steps": n_steps, "generation": report["generation"],
                     "generation_misread": report["generation_misread"],
                     "generation_offsets": report["generation_offsets"], "eval_seconds": report["eval_seconds"]})
        print(row_text(rows[-1]), flush=True)
    return rows


def row_text(row: dict) -> str:
    generation = row["generation"]
    weakest = min((value, name) for name, value in generation.items() if name != "all")
    return (f"guidance {row['guidance']:<4} shift {row['shift']:<4} steps {row['steps']:<3} "
            f"all {generation['all']:.3f}  weakest {weakest[1]} {weakest[0]:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="a bundled-model folder or registered name")
    parser.add_argument("--captions", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1, help="caption set (the model card's is seed 0)")
    parser.add_argument("--guidances", type=float, nargs="+", default=[2.0])
    parser.add_argument("--shifts", type=float, nargs="+", default=[1.0])
    parser.add_argument("--steps", type=int, nargs="+", default=[20])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = sweep(args.model, args.captions, args.seed, args.guidances, args.shifts, args.steps)
    chosen = chosen_schedule(rows)
    report = {"model": args.model, "captions": args.captions, "seed": args.seed, "rows": rows,
              "chosen": {key: chosen[key] for key in ("guidance", "shift", "steps")},
              "chosen_rule": "best weakest attribute, then best all, then smallest shift"}
    if args.out:
        args.out.write_text(json.dumps(report, indent=1) + "\n")
    print("chosen:", row_text(chosen), flush=True)


if __name__ == "__main__":
    main()
