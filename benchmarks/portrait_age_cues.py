"""Does the model miss a portrait's age, or only draw its forehead lines imprecisely? The world draws age twice:
forehead lines (darkness = age, what the oracle reads) and grey temples (grey from the sides inwards from age 0.3,
the oracle's raw ``grey_temples``). For held-out captions (the same captions, seeds and sampler as ``world eval``)
this compares, per caption, each cue of the generated image with the same cue of the caption's own render, both in
age units: the lines as the oracle reads them, the grey share through a table of renders' shares at ages 0.3 to 1
(:func:`grey_to_age`; only for captions asking middle-aged or old, as the share is nearly 0 below 0.3). If the two
offsets are correlated the model draws another age; if not, it draws the age asked and one cue imprecisely.

    python benchmarks/portrait_age_cues.py --captions 200 --seed 1 --out benchmarks/results/portrait_age_cues.json

The last line is one JSON object with every number.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import numpy as np
import torch

from ems_core import load_backend
from ems_core.bench.world_model import world_of
from ems_core.portraits.oracle import measure
from ems_core.portraits.scene import random_portrait, render
from ems_core.sampling.generate import generate


def grey_to_age(seed: int = 7, n_bases: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """The mean ``grey_temples`` of renders of ``n_bases`` random portraits at ages 0.3 .. 1 (the share is nearly 0
    below 0.3): a monotone table, read back by interpolation."""
    rng = random.Random(seed)
    bases = [random_portrait(rng) for _ in range(n_bases)]
    ages = np.linspace(0.3, 1.0, 15)
    shares = np.array([[measure(render(base.with_(age=float(age)))).raw["grey_temples"] for age in ages]
                       for base in bases]).mean(axis=0)
    return np.maximum.accumulate(shares), ages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="world-portraits")
    parser.add_argument("--captions", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--steps", type=int)
    parser.add_argument("--guidance", type=float)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    backend = load_backend(args.model)
    world = world_of(backend)
    table_shares, table_ages = grey_to_age()
    rng = random.Random(args.seed)
    pairs = [world.sample(rng) for _ in range(args.captions)]
    rows = []
    for start in range(0, len(pairs), 25):
        chunk = pairs[start:start + 25]
        images = generate(backend, [caption for _, caption in chunk],
                          [args.seed * 100_000 + start + i for i in range(len(chunk))], args.steps, args.guidance)
        for (source, _), image in zip(chunk, images):
            asked, drawn = measure(source), measure(image)
            if not drawn.found:
                continue
            rows.append((asked.age, drawn.age, asked.raw["grey_temples"], drawn.raw["grey_temples"]))
    r = np.array(rows)
    lines = r[:, 1] - r[:, 0]
    grey = np.interp(r[:, 3], table_shares, table_ages) - np.interp(r[:, 2], table_shares, table_ages)
    report = {"model": args.model, "captions": args.captions, "found": len(r), "seed": args.seed,
              "grey_to_age": {"share": np.round(table_shares, 3).tolist(), "age": np.round(table_ages, 3).tolist()},
              "bands": {}}
    bands = (("all", -1.0, 2.0), ("young", -1.0, 0.3), ("middle-aged", 0.3, 0.7), ("old", 0.7, 2.0),
             ("middle-aged and old", 0.3, 2.0))
    for name, low, high in bands:
        sel = (r[:, 0] >= low) & (r[:, 0] < high)
        band = {"n": int(sel.sum()), "lines_offset_mean": round(float(lines[sel].mean()), 3),
                "lines_offset_sd": round(float(lines[sel].std()), 3)}
        if low >= 0.3:  # no grey below age 0.3: the share says nothing there
            band.update(grey_offset_mean=round(float(grey[sel].mean()), 3),
                        grey_offset_sd=round(float(grey[sel].std()), 3),
                        correlation=round(float(np.corrcoef(lines[sel], grey[sel])[0, 1]), 3))
        report["bands"][name] = band
        print(f"{name:20s} n {band['n']:4d}  lines offset {band['lines_offset_mean']:+.3f} sd "
              f"{band['lines_offset_sd']:.3f}" + (f"  grey offset {band['grey_offset_mean']:+.3f} sd "
                                                   f"{band['grey_offset_sd']:.3f}  corr {band['correlation']:+.2f}"
                                                   if "correlation" in band else ""))
    if args.out:
        args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
