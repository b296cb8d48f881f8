"""How an edit responds to its degree, per attribute, on the bundled model (measured by the oracle).

For each attribute, random scenes get an edit to another value; each is rendered at degrees
0, 1/8, ..., 1 as one batch (the cached session). Printed per attribute and degree: the share of images
whose edited attribute reads as the target word, the share keeping every other attribute, and for
continuous attributes (size, x, y) the mean measured value and how linear it is in the degree (R^2).

    python benchmarks/degree_response.py  (from any folder) --cases 12 --out benchmarks/results/degree_response.json
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import numpy as np

from ems_core import EditConfig, load_backend
from ems_core.bench.edits import case_session, judge
from ems_core.world.edits import random_edit
from ems_core.world.oracle import ATTRIBUTES, measure
from ems_core.world.scene import SIZE_BANDS, X_BANDS, Y_BANDS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="world")
    parser.add_argument("--cases", type=int, default=12, help="edits per attribute")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--out")
    args = parser.parse_args()
    backend = load_backend(args.model)
    degrees = [i / 8 for i in range(9)]
    rng = random.Random(args.seed)
    report = {}
    for attribute in ATTRIBUTES:
        target_hits = np.zeros(len(degrees))
        kept = np.zeros(len(degrees))
        values: list[list[float]] = [[] for _ in degrees]
        for _ in range(args.cases):
            case = random_edit(rng, attribute)
            scene, target_word = case.scene, case.target_word
            results = case_session(backend, case, EditConfig()).render_batch([{attribute: d} for d in degrees])
            for i, result in enumerate(results):
                m = measure(result.image)
                outcome = judge(case, m.words)
                target_hits[i] += outcome.success
                kept[i] += outcome.preserved
                if attribute in ("size", "x", "y"):
                    # signed progress from the source value toward the target band (0 = source, 1 = target)
                    start = {"size": scene.size, "x": scene.x, "y": scene.y}[attribute]
                    bands = {"size": SIZE_BANDS, "x": X_BANDS, "y": Y_BANDS}[attribute]
                    centre = sum(bands[target_word]) / 2
                    if m.found:  # an image with no object the oracle can find adds no value
                        values[i].append((getattr(m, attribute) - start) / (centre - start))
        row = {"degrees": degrees, "target_share": (target_hits / args.cases).round(3).tolist(),
               "others_kept_share": (kept / args.cases).round(3).tolist()}
        if attribute in ("size", "x", "y"):
            progress = np.array([np.mean(v) if v else np.nan for v in values])
            seen = ~np.isnan(progress)
            fit = np.polyfit(np.array(degrees)[seen], progress[seen], 1)
            residual = progress[seen] - np.polyval(fit, np.array(degrees)[seen])
            r2 = 1 - residual.var() / max(progress[seen].var(), 1e-12)
            row.update({"mean_progress": [None if np.isnan(p) else round(float(p), 3) for p in progress],
                        "images_without_object": [args.cases - len(v) for v in values],
                        "linear_r2": round(float(r2), 3)})
        report[attribute] = row
        print(json.dumps({attribute: row}), flush=True)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"cases": args.cases, "seed": args.seed, "config": EditConfig().to_dict(),
                                              "attributes": report}, indent=1) + "\n")


if __name__ == "__main__":
    main()
