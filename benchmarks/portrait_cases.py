"""Look at chosen cases of a bundled world's quality benchmark (the portraits by default; ``--model world`` for the
shapes): each case's source, then the default edit ("ours", the backend's edit settings) at several degrees, as one
row of a PNG sheet, with the oracle's reading of the edited attributes printed per image. For reading why a case
fails, not for scoring (``bench quality`` scores).

    python benchmarks/portrait_cases.py --cases s018-face-width,s139-face-width,s183-face-width \
        --degrees 0.5,1,2 --sheet docs/figures/face-width-misses.png

Case names are those of ``bench quality --model <model>`` (its full suite, seed 11); ``--seed`` picks another
suite. ``--noise-grids`` and ``--guidances`` render each case once per setting (one row each).
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import torch
from PIL import Image

from ems_core import EditSession, load_backend
from ems_core.bench.quality_run import QualityOptions, suite_for, world_of
from ems_core.portraits.oracle import measure as measure_portrait
from ems_core.world.oracle import measure as measure_shapes


def reading(measurement, attribute: str) -> tuple | str:
    """The oracle's word for ``attribute`` and, where it measures one, its value (portraits: every attribute;
    shapes: size and position)."""
    values = getattr(measurement, "values", None)
    value = values[attribute] if values is not None else getattr(measurement, attribute, None)
    word = measurement.words[attribute]
    return (word, round(value, 3)) if isinstance(value, float) else word


def guidance_setting(text: str) -> dict:
    """``"G"``: guidance G on both sides; ``"GS/G"``: the source side at GS, the edit's ramped in to G."""
    source, _, edit = text.rpartition("/")
    return {"guidance": float(edit), "source_guidance": float(source) if source else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="world-portraits")
    parser.add_argument("--cases", required=True, help="comma-separated case names, e.g. s062-face-width")
    parser.add_argument("--degrees", default="0,0.5,1,1.5,2")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--noise-grids", help="comma-separated EditConfig.noise_grid values: one row per case and "
                                                "grid (default: the model's edit settings)")
    parser.add_argument("--guidances", help="comma-separated 'G' or 'GS/G' (source side GS, the edit's guidance ramped "
                                            "in to G): one row per case and setting (default: the model's)")
    parser.add_argument("--zoom", type=int, default=1, help="enlarge the sheet's images this many times (nearest)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--sheet", type=Path, help="PNG (128 colours, small enough for docs): one row per case, the "
                                                   "source first")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    backend = load_backend(args.model)
    world = world_of(backend)
    measure = measure_portrait if world == "portraits" else measure_shapes
    options = QualityOptions(seed=args.seed, world=world, out_dir=None)  # the full suite's sizes
    suite = {case.case_id: case for case in suite_for(options, backend.info.image_size)}
    degrees = [float(d) for d in args.degrees.split(",")]
    unknown = [name for name in args.cases.split(",") if name not in suite]
    if unknown:
        parser.error(f"no such case in the seed-{args.seed} suite: {', '.join(unknown)}")
    rows = []
    grids = [int(g) for g in args.noise_grids.split(",")] if args.noise_grids else [backend.info.edit_config.noise_grid]
    edit = backend.info.edit_config
    guidances = ([guidance_setting(g) for g in args.guidances.split(",")] if args.guidances else
                 [{"guidance": edit.guidance, "source_guidance": edit.source_guidance}])
    for name, grid, guidance in itertools.product(args.cases.split(","), grids, guidances):
        case = suite[name]
        config = edit.with_(noise_grid=grid, **guidance)
        session = EditSession(backend, case.image, prompt=case.prompt, config=config)
        session.configure(case.prompt, list(case.attributes))
        images = [case.image] + [r.image for r in session.render_batch(
            [{a.name: d for a in case.attributes} for d in degrees])]
        readings = [measure(image) for image in images]
        print(json.dumps({"case": name, "noise_grid": grid, **guidance, "targets": case.targets,
                          "degrees": ["source", *degrees],
                          "read": {attribute: [reading(m, attribute) for m in readings]
                                   for attribute in case.targets}}))
        rows.append(images)
    if args.sheet:
        size = backend.info.image_size * args.zoom
        sheet = Image.new("RGB", (size * len(rows[0]), size * len(rows)), "white")
        for r, images in enumerate(rows):
            for c, image in enumerate(images):
                sheet.paste(image.convert("RGB").resize((size, size), Image.NEAREST), (c * size, r * size))
        args.sheet.parent.mkdir(parents=True, exist_ok=True)
        small = sheet.quantize(colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        small.save(args.sheet, optimize=True)
        print(f"wrote {args.sheet}")


if __name__ == "__main__":
    main()
