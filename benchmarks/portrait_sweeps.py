"""Slider sweeps on the portrait model, read back by the portrait oracle: does a slider move its attribute
monotonically, in even steps, and keep what no caption names (head position and tilt, background texture)
and what the edit does not name (every other attribute)?

For each of ``--portraits`` random portraits (seeded) and each swept attribute, the slider runs from the source
phrase to the far end of its scale (smile: frowning <-> beaming; age: young <-> old; ...), passing through the
phrases between (waypoints), at slider positions 0, 0.1, ..., 1 (calibrated, as the app does; ``--plain`` for the
raw degree). Per attribute:

- ``rho``: Spearman's rho of slider position vs the oracle's value, signed so that moving toward the target is
  positive; median and the share of sweeps at or above 0.95;
- ``evenness``: coefficient of variation of the oracle value's increments (0 = equal steps), median;
- ``kept``: share of images whose other attributes read as the source's words (the ones the oracle reads with
  known accuracy; docs/portraits.md);
- nuisance drift, the worst over the sweep against the source render's own reading: head x / y (px), tilt
  (degrees), background signature distance (``background_distance``: about 0.005 for the same texture);
- ``nuisance_kept``: the share of sweeps whose worst drifts are all within the quality benchmark's stated
  tolerances (:data:`~ems_core.bench.portrait_quality.HEAD_TOLERANCE` 0.5 px per axis, ``TILT_TOLERANCE`` 1.5
  degrees, ``TEXTURE_TOLERANCE`` 0.02), every image's face found.

    python benchmarks/portrait_sweeps.py --model world-portraits --portraits 20 --out benchmarks/results/portrait_sweeps.json \
        --strip docs/figures/smile-slider.png
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from ems_core import EditConfig, EditSession, load_backend
from ems_core.config import BLENDS
from ems_core.bench.portrait_quality import sweep_nuisance_kept
from ems_core.images import horizontal_strip
from ems_core.metrics import spearman
from ems_core.portraits.captioner import attribute_presets
from ems_core.portraits.oracle import background_distance, measure
from ems_core.portraits.scene import caption_of, random_portrait, render

SLIDER = [i / 10 for i in range(11)]
#: preset name -> oracle attribute, for the ordered attributes a sweep can read as a number
SWEPT = {"smile": "smile", "age": "age", "hair lightness": "hair_lightness", "eyes": "eyes", "glasses": "glasses",
         "hair length": "hair_length", "face width": "face_width", "skin": "skin"}
KEPT = ("smile", "eyes", "age", "hair_lightness", "hair_length", "glasses", "skin", "background_hue")


def far_end(preset) -> str:
    """The end of the preset's scale farther from its source (frowning -> beaming, old -> young...)."""
    position = [p.casefold() for p in preset.scale].index(preset.source.strip().casefold())
    return preset.scale[-1] if position < len(preset.scale) / 2 else preset.scale[0]


def sweep(backend, portrait, name: str, calibrated: bool, config: EditConfig | None = None) -> dict:
    image, prompt = render(portrait, backend.info.image_size), caption_of(portrait)
    preset = next(p for p in attribute_presets(prompt) if p.name == name)
    target = far_end(preset)
    session = EditSession(backend, image, prompt=prompt, config=config)
    session.configure(prompt, [preset.attribute(target)])
    degrees = [session.calibrated_degrees({name: s})[name] if calibrated else s for s in SLIDER]
    results = session.render_batch([{name: d} for d in degrees])
    readings = [measure(r.image) for r in results]
    source = measure(image)
    key = SWEPT[name]
    values = [getattr(m, key) for m in readings]
    direction = 1.0 if target == preset.scale[-1] else -1.0  # scales run from low to high values
    increments = np.diff(values) * direction
    others = [k for k in KEPT if k != key]
    found = [m for m in readings if m.found]
    return {
        "rho": spearman(SLIDER, [direction * v for v in values]),
        "evenness": float(np.std(increments) / max(abs(np.mean(increments)), 1e-9)),
        "kept": float(np.mean([all(m.words[k] == source.words[k] for k in others) for m in readings])),
        "faces_found": len(found) / len(readings),
        "head_x": max((abs(m.head_x - source.head_x) for m in found), default=float("nan")),
        "head_y": max((abs(m.head_y - source.head_y) for m in found), default=float("nan")),
        "tilt": max((abs(m.tilt - source.tilt) for m in found), default=float("nan")),
        "background": max(background_distance(m, source) for m in readings),
        "values": [round(float(v), 3) for v in values], "target": target,
        "images": [r.image for r in results],  # dropped before writing JSON
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="world-portraits")
    parser.add_argument("--portraits", type=int, default=20)
    parser.add_argument("--attributes", default="smile,age,hair lightness")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--plain", action="store_true", help="raw degrees instead of calibrated sliders")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out")
    parser.add_argument("--start-time", type=float, help="t0 (default: the model's edit settings)")
    parser.add_argument("--guidance", type=float, help="(default: the model's edit settings)")
    parser.add_argument("--steps", type=int, help="sampling steps below t0 (default: the model's edit settings)")
    parser.add_argument("--no-align-tokens", action="store_true",
                        help="blend the phrases' embeddings slot by slot, as before 2026-12-06 (docs/method.md)")
    parser.add_argument("--blend", choices=BLENDS,
                        help="between a slider's knots: the embeddings linearly or norm-keeping, or the knots' "
                             "velocities (default: the model's edit settings)")
    parser.add_argument("--strip", help="save the first portrait's sweep of the first attribute (slider 0, .1, ..., 1) as a PNG strip")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    backend = load_backend(args.model)
    overrides = {k: v for k, v in (("start_time", args.start_time), ("guidance", args.guidance),
                                   ("steps", args.steps)) if v is not None}
    if args.no_align_tokens:
        overrides["align_tokens"] = False
    if args.blend:
        overrides["blend"] = args.blend
    config = backend.info.edit_config.with_(**overrides)
    names = [n.strip() for n in args.attributes.split(",")]
    unknown = [n for n in names if n not in SWEPT]
    if unknown:
        raise SystemExit(f"unknown attribute {unknown[0]!r} (known: {', '.join(SWEPT)})")
    rng = random.Random(args.seed)
    portraits = [random_portrait(rng) for _ in range(args.portraits)]
    started = time.perf_counter()
    report = {}
    for name in names:
        sweeps = [sweep(backend, p, name, not args.plain, config) for p in portraits]
        summary = {
            "rho_median": round(statistics.median(s["rho"] for s in sweeps), 3),
            "rho_at_least_0.95": round(float(np.mean([s["rho"] >= 0.95 for s in sweeps])), 3),
            "evenness_median": round(statistics.median(s["evenness"] for s in sweeps), 3),
            "kept": round(float(np.mean([s["kept"] for s in sweeps])), 3),
            "faces_found": round(float(np.mean([s["faces_found"] for s in sweeps])), 3),
            "nuisance_kept": round(float(np.mean([sweep_nuisance_kept(s) for s in sweeps])), 3),
            **{f"{k}_drift_median": round(float(np.nanmedian([s[k] for s in sweeps])), 3)
               for k in ("head_x", "head_y", "tilt", "background")},
        }
        if args.strip and name == names[0]:
            Path(args.strip).parent.mkdir(parents=True, exist_ok=True)
            horizontal_strip(sweeps[0]["images"]).save(args.strip, optimize=True)
        for s in sweeps:
            s.pop("images")
        report[name] = {"summary": summary, "sweeps": sweeps}
        print(json.dumps({name: summary}), flush=True)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({
            "command": "python benchmarks/portrait_sweeps.py", "model": args.model, "portraits": args.portraits,
            "seed": args.seed, "calibrated": not args.plain, "slider": SLIDER,
            "config": config.to_dict(), "wall_s": round(time.perf_counter() - started, 1),
            "attributes": report}, indent=1) + "\n")


if __name__ == "__main__":
    main()
