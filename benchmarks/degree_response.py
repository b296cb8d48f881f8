"""How an edit responds to its slider, per attribute, on the bundled model (measured by the oracle), with the
plain degree and with the calibrated one (ems_core/calibration.py).

For each attribute, random scenes get an edit to another value; each is rendered at slider positions 0, 0.1,
..., 1 as one batch from the cached session, the slider mapped to a degree either as is ("plain") or through
the session's calibration ("calibrated", fitted on the degrees 0, 1/8, ..., 1: a different grid). Printed per
attribute and slider position: the share of images whose edited attribute reads as the target word, the share
keeping every other attribute; for continuous attributes (size, x, y) the mean progress from the source value
toward the target band's centre and how even it is; for every attribute how even the label-free change is.

Evenness, for a curve ``c(s_0..s_10)``: the increments ``c(s_k) - c(s_{k-1})`` should be equal; reported as
their coefficient of variation (std / mean, 0 = perfectly even) and R^2 of a line through ``c``.

    python benchmarks/degree_response.py --cases 12 --out benchmarks/results/degree_response.json
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
from pathlib import Path

import numpy as np
import torch

from ems_core import load_backend
from ems_core.bench.edits import case_session, judge
from ems_core.world.edits import random_edit
from ems_core.world.oracle import ATTRIBUTES, measure
from ems_core.world.scene import SIZE_BANDS, X_BANDS, Y_BANDS

SLIDER = [i / 10 for i in range(11)]
BANDS = {"size": SIZE_BANDS, "x": X_BANDS, "y": Y_BANDS}


def evenness(curve: np.ndarray) -> dict:
    """CV of the increments and R^2 of a line through ``curve`` (on :data:`SLIDER`)."""
    steps = np.diff(curve)
    cv = float(np.std(steps) / max(abs(np.mean(steps)), 1e-12))
    fit = np.polyfit(SLIDER, curve, 1)
    r2 = 1 - np.var(curve - np.polyval(fit, SLIDER)) / max(np.var(curve), 1e-12)
    return {"increment_cv": round(cv, 3), "linear_r2": round(float(r2), 3)}


def pixel_path(images) -> np.ndarray:
    """Cumulative RMS pixel change along the slider (0 at the source), normalised to end at 1."""
    pixels = [np.asarray(image, dtype=np.float32) / 255 for image in images]
    steps = [float(np.sqrt(np.mean((b - a) ** 2))) for a, b in zip(pixels, pixels[1:])]
    path = np.concatenate([[0.0], np.cumsum(steps)])
    return path / max(path[-1], 1e-12)


def response(backend, attribute: str, cases: int, seed: int, mode: str) -> dict:
    rng = random.Random(seed)
    target = np.zeros(len(SLIDER))
    kept = np.zeros(len(SLIDER))
    progress: list[list[float]] = [[] for _ in SLIDER]
    paths = []
    for _ in range(cases):
        case = random_edit(rng, attribute)
        session = case_session(backend, case, backend.info.edit_config)
        degrees = [session.calibrated_degrees({attribute: s})[attribute] if mode == "calibrated" else s
                   for s in SLIDER]
        results = session.render_batch([{attribute: d} for d in degrees])
        paths.append(pixel_path([r.image for r in results]))
        for i, result in enumerate(results):
            m = measure(result.image)
            outcome = judge(case, m.words)
            target[i] += outcome.success
            kept[i] += outcome.preserved
            if attribute in BANDS and m.found:
                start = getattr(case.scene, attribute)
                centre = sum(BANDS[attribute][case.target_word]) / 2
                progress[i].append((getattr(m, attribute) - start) / (centre - start))
    share = target / cases
    crossing = next((s for s, v in zip(SLIDER, share) if v >= 0.5), None)
    row = {"target_share": share.round(3).tolist(), "others_kept_share": (kept / cases).round(3).tolist(),
           "min_kept": round(float(kept.min() / cases), 3), "half_switched_at": crossing,
           "pixel_path": {"mean": np.mean(paths, axis=0).round(3).tolist(),
                          **{k: round(statistics.fmean(evenness(p)[k] for p in paths), 3)
                             for k in ("increment_cv", "linear_r2")}}}
    if attribute in BANDS:
        curve = np.array([np.mean(v) if v else np.nan for v in progress])
        row["mean_progress"] = [None if np.isnan(p) else round(float(p), 3) for p in curve]
        row["images_without_object"] = [cases - len(v) for v in progress]
        if not np.isnan(curve).any():
            row["progress_evenness"] = evenness(curve)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="world")
    parser.add_argument("--cases", type=int, default=12, help="edits per attribute")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--modes", default="plain,calibrated")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    backend = load_backend(args.model)
    report = {}
    for mode in args.modes.split(","):
        for attribute in ATTRIBUTES:
            row = response(backend, attribute, args.cases, args.seed, mode)
            report.setdefault(mode, {})[attribute] = row
            print(json.dumps({"mode": mode, attribute: row}), flush=True)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"cases": args.cases, "seed": args.seed, "slider": SLIDER,
                                              "config": backend.info.edit_config.to_dict(), "modes": report},
                                             indent=1) + "\n")


if __name__ == "__main__":
    main()
