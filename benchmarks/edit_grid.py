"""Choose the edit defaults by measurement: a grid over start time, guidance and refinement.

For random scenes of the bundled world and one random attribute edit each (colour, shape, size,
horizontal, vertical or background to another value), render at degree 1 and measure with the oracle:

- success: the edited attribute reads as the target word;
- preservation: every other attribute keeps its source word;
- both: success and preservation at once (the number to maximise);
- recon PSNR: degree-0 reconstruction against the source render.

    python benchmarks/edit_grid.py --scenes 48 --out benchmarks/results/edit_grid.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import statistics
import time
from pathlib import Path

from ems_core import EditConfig, EditSession, load_backend
from ems_core.images import psnr
from ems_core.world.oracle import ATTRIBUTES, measure
from ems_core.world.scene import BACKGROUNDS, COLOURS, SHAPES, SIZE_BANDS, X_BANDS, Y_BANDS, caption_of, random_scene, render

CHOICES = {"shape": SHAPES, "colour": tuple(COLOURS), "background": tuple(BACKGROUNDS), "size": tuple(SIZE_BANDS),
           "x": tuple(X_BANDS), "y": tuple(Y_BANDS)}


def edit_cases(n: int, seed: int) -> list[tuple]:
    """(scene, attribute, source phrase, target phrase, target word) with a random other value."""
    rng = random.Random(seed)
    cases = []
    for i in range(n):
        scene = random_scene(rng)
        attribute = ATTRIBUTES[i % len(ATTRIBUTES)]
        source_word = scene.words[attribute]
        target_word = rng.choice([w for w in CHOICES[attribute] if w != source_word])
        if attribute == "background":
            cases.append((scene, attribute, f"{source_word} background", f"{target_word} background", target_word))
        else:
            cases.append((scene, attribute, source_word, target_word, target_word))
    return cases


def evaluate(backend, cases: list[tuple], config: EditConfig, degrees: tuple[float, ...] = (1.0,)) -> dict:
    success = preserve = both = 0
    recon, render_ms = [], []
    for scene, attribute, source, target, target_word in cases:
        image = render(scene)
        session = EditSession(backend, image, prompt=caption_of(scene), config=config)
        session.set_attribute(attribute, source, target)
        recon.append(psnr(image, session.reconstruct().image))
        result = session.render({attribute: degrees[-1]})
        render_ms.append(result.timings_ms["render"])
        words = measure(result.image).words
        ok_target = words[attribute] == target_word
        ok_rest = all(words[a] == scene.words[a] for a in ATTRIBUTES if a != attribute)
        success += ok_target
        preserve += ok_rest
        both += ok_target and ok_rest
    n = len(cases)
    return {"success": round(success / n, 3), "preservation": round(preserve / n, 3), "both": round(both / n, 3),
            "recon_psnr": round(statistics.fmean(recon), 2), "render_ms_p50": round(statistics.median(render_ms), 1),
            "edit_nfe": session.edit_nfe()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="world")
    parser.add_argument("--scenes", type=int, default=48)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--start-times", default="0.5,0.7,0.85")
    parser.add_argument("--guidances", default="1,2.5,4")
    parser.add_argument("--refine", default="0,2")
    parser.add_argument("--out")
    args = parser.parse_args()
    backend = load_backend(args.model)
    cases = edit_cases(args.scenes, args.seed)
    rows = []
    grid = itertools.product([float(v) for v in args.start_times.split(",")],
                             [float(v) for v in args.guidances.split(",")], [int(v) for v in args.refine.split(",")])
    for start_time, guidance, refine in grid:
        started = time.perf_counter()
        config = EditConfig(start_time=start_time, guidance=guidance, refine_iters=refine)
        row = {"start_time": start_time, "guidance": guidance, "refine_iters": refine,
               **evaluate(backend, cases, config), "seconds": round(time.perf_counter() - started, 1)}
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
