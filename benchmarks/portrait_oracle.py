"""How well the portrait oracle reads held-out portraits back, clean and degraded; how fast they render.

For N seeded random portraits (seeds from --offset, none of which the tests or the oracle's calibration
use), each rendered clean and degraded (Gaussian blur sigma 0.7, noise std 4/255, JPEG quality 80, all
three in that order, and slow colour blotches of std 8/255, :func:`ems_core.bench.degradations.slow_shading`): per attribute, the share of
measured caption words equal to the truth and the mean absolute error of the continuous value (in the
attribute's own units, see ``BANDS``), and the nuisance errors (head offset px, tilt degrees, lighting).
Render and measure times are medians over the clean renders (single thread). The last line is one JSON
object with every number.

    python benchmarks/portrait_oracle.py --n 500 --out benchmarks/results/portrait_oracle_v3.json
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import numpy as np
from ems_core.bench.degradations import chained, gaussian_blur, jpeg, pixel_noise, slow_shading
from ems_core.portraits.oracle import ATTRIBUTES, calibration, measure
from ems_core.portraits.scene import random_portrait, render


BLUR, NOISE, JPEG = gaussian_blur(0.7), pixel_noise(4.0), jpeg(80)
CONDITIONS = {"clean": lambda image, rng: image, "blur": BLUR, "noise": NOISE, "jpeg": JPEG,
              "combined": chained(BLUR, NOISE, JPEG), "shading": slow_shading(8.0)}
NUISANCE = ("head_x", "head_y", "tilt", "lighting")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500, help="held-out portraits")
    parser.add_argument("--offset", type=int, default=100_000, help="first seed")
    parser.add_argument("--out", help="also write the JSON report here")
    args = parser.parse_args()

    calibration()  # built once per process; not part of the timings
    portraits = [random_portrait(random.Random(seed)) for seed in range(args.offset, args.offset + args.n)]
    render_ms, measure_ms, images = [], [], []
    for portrait in portraits:
        start = time.perf_counter()
        images.append(render(portrait))
        render_ms.append((time.perf_counter() - start) * 1000)

    report = {"n": args.n, "offset": args.offset, "conditions": {}}
    for name, degrade in CONDITIONS.items():
        rng = np.random.default_rng(0)
        hits = {a: 0 for a in ATTRIBUTES}
        errors = {a: [] for a in (*ATTRIBUTES, *NUISANCE)}
        not_found = 0
        for portrait, image in zip(portraits, images):
            degraded = degrade(image, rng)
            start = time.perf_counter()
            measured = measure(degraded)
            if name == "clean":
                measure_ms.append((time.perf_counter() - start) * 1000)
            if not measured.found:
                not_found += 1
                continue
            words = measured.words
            for attribute in ATTRIBUTES:
                hits[attribute] += words[attribute] == portrait.words[attribute]
            for attribute in (*ATTRIBUTES, *NUISANCE):
                errors[attribute].append(abs(getattr(measured, attribute) - getattr(portrait, attribute)))
        row = {
            "word_accuracy": {a: round(hits[a] / args.n, 4) for a in ATTRIBUTES},  # not found counts as wrong
            "mae": {a: round(float(np.mean(errors[a])), 4) for a in ATTRIBUTES},
            "nuisance_mae": {a: round(float(np.mean(errors[a])), 3) for a in NUISANCE},
            "nuisance_max": {a: round(float(np.max(errors[a])), 3) for a in NUISANCE},
            "not_found": not_found,
        }
        row["min_word_accuracy"] = min(row["word_accuracy"].values())
        report["conditions"][name] = row
        print(f"== {name}: not found {not_found}/{args.n}, min word accuracy {row['min_word_accuracy']:.3f}")
        for attribute in ATTRIBUTES:
            print(f"   {attribute:22s} words {row['word_accuracy'][attribute]:.3f}   mae {row['mae'][attribute]:.4f}")
        print("   nuisance mae " + ", ".join(f"{a} {v}" for a, v in row["nuisance_mae"].items()), flush=True)
    report["render_ms_p50"] = round(float(np.median(render_ms)), 2)
    report["render_ms_p90"] = round(float(np.percentile(render_ms, 90)), 2)
    report["measure_ms_p50"] = round(float(np.median(measure_ms)), 2)
    print(f"render p50 {report['render_ms_p50']} ms (p90 {report['render_ms_p90']}), "
          f"measure p50 {report['measure_ms_p50']} ms")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
