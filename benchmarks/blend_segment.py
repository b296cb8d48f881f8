"""One slider segment between two neighbouring smile phrases, read by the portrait oracle at every tenth: does the
mouth move straight from one phrase to the other, or pass through a face neither names?

For each of ``--portraits`` random portraits (seeded), the smile is set to the middle of the first phrase's band,
and the slider runs from that phrase (degree 0) to the second (degree 1) with no phrase between, at raw degrees
0, 0.1, ..., 1 (uncalibrated: the blend itself is under test), for each ``--blends`` (``EditConfig.blend``; the
model's edit settings otherwise). Per blend: the share of segments with a step that goes back by more than 0.1,
the median of each segment's worst step (signed toward the second phrase), and the lowest and highest readings.

    python benchmarks/blend_segment.py --model runs/wp-v3 --portraits 6 --seed 11 \
        --out benchmarks/results/blend_segment_scratch24k.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from ems_core import EditSession, load_backend
from ems_core.config import BLENDS
from ems_core.portraits.captioner import attribute_presets
from ems_core.portraits.oracle import measure
from ems_core.portraits.scene import SMILE_BANDS, SMILE_PHRASES, caption_of, random_portrait, render

DEGREES = [i / 10 for i in range(11)]


def segment(backend, portrait, first: str, second: str, blend: str) -> list[float]:
    """The oracle's smile at each of :data:`DEGREES` from phrase ``first`` to ``second`` (words of SMILE_BANDS)."""
    low, high = SMILE_BANDS[first]
    portrait = dataclasses.replace(portrait, smile=(low + high) / 2)
    image, prompt = render(portrait, backend.info.image_size), caption_of(portrait)
    preset = next(p for p in attribute_presets(prompt) if p.name == "smile")
    attribute = preset.attribute(SMILE_PHRASES[second])
    if attribute.via:
        raise SystemExit(f"{first!r} and {second!r} are not neighbours on the smile scale")
    session = EditSession(backend, image, prompt=prompt, config=backend.info.edit_config.with_(blend=blend))
    session.configure(prompt, [attribute])
    return [round(float(measure(r.image).smile), 3) for r in session.render_batch([{"smile": d} for d in DEGREES])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="world-portraits")
    parser.add_argument("--portraits", type=int, default=6)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--segment", default="slightly smiling,neutral",
                        help="two neighbouring smile words, from,to (of: " + ", ".join(SMILE_BANDS) + ")")
    parser.add_argument("--blends", default=",".join(BLENDS))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out")
    args = parser.parse_args()
    first, second = (w.strip() for w in args.segment.split(","))
    blends = [b.strip() for b in args.blends.split(",")]
    for word in (first, second):
        if word not in SMILE_BANDS:
            raise SystemExit(f"unknown smile word {word!r} (known: {', '.join(SMILE_BANDS)})")
    unknown = [b for b in blends if b not in BLENDS]
    if unknown:
        raise SystemExit(f"unknown blend {unknown[0]!r} (known: {', '.join(BLENDS)})")
    torch.set_num_threads(args.threads)
    backend = load_backend(args.model)
    direction = 1.0 if SMILE_BANDS[second][0] > SMILE_BANDS[first][0] else -1.0
    started, report = time.perf_counter(), {}
    for blend in blends:
        rng = random.Random(args.seed)
        rows = [segment(backend, random_portrait(rng), first, second, blend) for _ in range(args.portraits)]
        worst = [float((np.diff(row) * direction).min()) for row in rows]
        report[blend] = {"stepping_back": round(float(np.mean([w < -0.1 for w in worst])), 3),
                         "worst_step_median": round(statistics.median(worst), 3),
                         "lowest": min(min(row) for row in rows), "highest": max(max(row) for row in rows),
                         "values": rows}
        print(json.dumps({blend: {k: v for k, v in report[blend].items() if k != "values"}}), flush=True)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({
            "command": "python benchmarks/blend_segment.py", "model": args.model, "portraits": args.portraits,
            "seed": args.seed, "segment": [first, second], "degrees": DEGREES,
            "config": backend.info.edit_config.to_dict(), "wall_s": round(time.perf_counter() - started, 1),
            "blends": report}, indent=1) + "\n")


if __name__ == "__main__":
    main()
